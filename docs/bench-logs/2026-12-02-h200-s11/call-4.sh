# session 11, call 4 (nvidia-h200): issue 8 — persistent launch with tiles taken in snake order (rounds
# walked forward and backward), against variant `tiles` (one CTA per tile): lab checks (also with 3 CTAs
# walking every list) and the full bench beside SDPA; then the GPU JUnit tests through JCuda.
# Carried: .stage/jre.tar.xz, .stage/app.
set -uo pipefail
R=$OUT
OUT=$R/lab VARIANTS="tiles" timeout 400 bash kernels/dev/run_on_gpu.sh all > $R/lab.txt 2>&1
echo "lab exit $?"
grep -E "CHECKS|FAIL" $R/lab.txt | head -20
OUT=$R/java timeout 150 bash tools/gpu-host/run.sh tests > $R/java-tests.txt 2>&1
echo "java tests exit $?"; grep -E "tests (successful|failed)" $R/java-tests.txt
grep -E "^(bf16|fp16) " $R/lab.txt
