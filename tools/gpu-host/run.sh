#!/usr/bin/env bash
# On the GPU host (no JDK, no Maven): the GPU JUnit tests, the Java-launched kernel benchmark and
# PyTorch's scaled_dot_product_attention on the same shapes, in one go. Logs go to $OUT.
#   bash .stage/app/run.sh [tests|bench|all]      (needs .stage/jre.tar.xz and .stage/app, see stage.sh)
# TEST_JAVA_OPTS: JVM options for the tests (e.g. -Dflashspark.gpu.registeredRings=true).
set -uo pipefail
mode=${1:-all}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-/tmp/flashspark-out}; mkdir -p "$OUT"
stage=/opt/stage; mkdir -p "$stage"
[ -x "$stage/jre/bin/java" ] || tar -C "$stage" -xJf "$root/.stage/jre.tar.xz"
java=$stage/jre/bin/java
app=$root/.stage/app; [ -d "$app" ] || app=$stage/app # carried in this call, or staged by unpack.sh
cp="$(ls "$app"/*.jar | grep -v console-standalone | tr '\n' ':')"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv | tee "$OUT/gpu.txt"
rc=0
if [[ $mode == tests || $mode == all ]]; then
  "$java" ${TEST_JAVA_OPTS:-} -jar "$app"/junit-platform-console-standalone-*.jar execute \
    --class-path "$cp" --select-class io.flashspark.gpu.GpuBackendTest --select-class io.flashspark.gpu.LaunchPlanTest \
    --select-class io.flashspark.attention.PackedRowsTest --select-class io.flashspark.gpu.ListAttentionTest \
    --details=tree --disable-banner 2>&1 | tee "$OUT/gpu-tests.log"
  rc=${PIPESTATUS[0]}
fi
if [[ $mode == bench || $mode == all ]]; then
  "$java" -cp "$cp" io.flashspark.attention.KernelBench --backend gpu --dims ${DIMS:-64,128} \
    --tokens ${TOKENS:-1024,4096,16384,65536} --precision ${PRECISIONS:-bf16,fp16} --causal no,yes --reps 10 --json "$OUT/java-bench.json" 2>&1 \
    | tee "$OUT/java-bench.log"
  python3 "$app/sdpa_peer.py" --dims ${DIMS:-64,128} --tokens ${TOKENS:-1024,4096,16384,65536} 2>&1 | tee "$OUT/sdpa-peer.log"
  python3 "$app/bench_table.py" "$OUT/java-bench.json" "$OUT/sdpa-peer.log" | tee "$OUT/bench-table.md"
fi
exit $rc
