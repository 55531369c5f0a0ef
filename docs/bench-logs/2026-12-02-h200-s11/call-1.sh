# session 11, call 1 (nvidia-h200): issue 8 — the persistent launch of the sm_90a loop, first run.
# Kernel lab: checks (default grid, then 3 CTAs walking every tile list) for the shipped build and
# variant `tiles` (same fatbin, one CTA per tile), the full bench of both beside SDPA, sanitizers;
# then the GPU JUnit tests through JCuda (staged JRE + app carried in this call, kept in /opt/stage).
set -uo pipefail
R=$OUT

OUT=$R/lab VARIANTS="tiles" timeout 420 bash kernels/dev/run_on_gpu.sh full > $R/lab.txt 2>&1
echo "lab exit $?"
grep -E "CHECKS|FAIL|exit:" $R/lab.txt | head -20
python3 -c "import cupy as cp; m = cp.RawModule(path=\"/tmp/fsk/flashspark.fatbin\"); f = m.get_function(\"flashspark_fwd_bf16_d128\"); f.max_dynamic_shared_size_bytes = 164864; print(\"occupancy\", getattr(f, \"kernel\", None) and cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(f.kernel.ptr, 384, 164864))"

grep -E "^(bf16|fp16) " $R/lab.txt
