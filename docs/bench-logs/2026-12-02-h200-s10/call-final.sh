#!/usr/bin/env bash
# Session 10, one H200 call: the GPU JUnit tests, the Java-launched kernel benchmark beside PyTorch SDPA
# (flash and cuDNN backends) on the same shapes, and compute-sanitizer memcheck/racecheck, all on the
# warp-specialised sm_90a loop. Carried: .stage/jre.tar.xz, .stage/app (tools/gpu-host/stage.sh).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
OUT=${OUT:-/tmp/out}; export OUT
timeout 200 bash .stage/app/run.sh tests > "$OUT/tests.out" 2>&1; echo "tests rc $?"
timeout 280 bash .stage/app/run.sh bench > "$OUT/bench.out" 2>&1; echo "bench rc $?"
timeout 110 bash kernels/dev/run_on_gpu.sh sanitize > "$OUT/sanitize.out" 2>&1; echo "sanitize rc $?"
grep -E "tests (successful|failed)|containers failed" "$OUT/gpu-tests.log"
grep -h "compute-sanitizer .* exit\|ERROR SUMMARY" "$OUT"/sanitize_*.log
cat "$OUT/bench-table.md" 2>/dev/null | tail -40
