#!/usr/bin/env bash
# Run on the GPU host from the repo root:  bash kernels/dev/run_on_gpu.sh [check|bench|all|sanitize|full]
# Builds the fatbin with kernels/build.sh into /tmp/fsk, runs the harness, writes logs to $OUT.
# VARIANTS="name ..." (or all) builds the named lines of kernels/dev/variants.txt as extra variants that are
# timed side by side with the default build (column ours1, ours2, ...).
set -uo pipefail
MODE=${1:-full}
OUT=${OUT:-/tmp/fsk_out}
mkdir -p "$OUT"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$OUT/gpu.txt"
t0=$(date +%s%N)
bash kernels/build.sh /tmp/fsk 2>&1 | tee "$OUT/build.log" || { echo BUILD FAILED; exit 1; }
t1=$(date +%s%N)
echo "build time: $(( (t1 - t0) / 1000000 )) ms" | tee -a "$OUT/build.log"
LIBS=(--lib /tmp/fsk)
pids=()
VFILE=${VARIANTS_FILE:-kernels/dev/variants.txt}
if [ -n "${VARIANTS:-}" ] && [ -f "$VFILE" ]; then
  while IFS='|' read -r name gencode flags pargs src; do
    case "$name" in ''|'#'*) continue ;; esac
    case " $VARIANTS " in *" $name "*|*" all "*) ;; *) continue ;; esac
    dir=/tmp/fsk_$name; mkdir -p "$dir"; FSK_PROPS_OUT=$dir/kernels.properties python3 kernels/src/gen_properties.py $pargs
    (nvcc -fatbin -O3 -std=c++17 $gencode $flags -Xptxas -v -o "$dir/flashspark.fatbin" \
        ${src:-kernels/src/flashspark_all.cu} > "$dir/build.log" 2>&1 || echo "variant $name failed") &
    pids+=($!)
    LIBS+=(--lib "$dir")
  done < "$VFILE"
fi
for p in "${pids[@]}"; do wait "$p"; done
for d in /tmp/fsk_*/; do [ -f "$d/build.log" ] && { echo "== $d"; grep -E "Compiling|Used|spill" "$d/build.log" | grep -v fp16 | paste - - - | sed -E 's/ptxas info *: //g'; }; done > "$OUT/variants.txt"
cuobjdump -sass -arch sm_90a -fun flashspark_fwd_bf16_d128 /tmp/fsk/flashspark.fatbin > "$OUT/sass_bf16_d128.txt" 2>&1
grep -c HGMMA "$OUT/sass_bf16_d128.txt" | sed 's/^/HGMMA count in bf16_d128 sm_90a SASS: /'
rc=0
case "$MODE" in
  check|bench|all)
    python3 kernels/dev/fsk_harness.py "$MODE" "${LIBS[@]}" --out "$OUT/results.txt" 2>&1 | tee "$OUT/harness.log"; rc=$? ;;
  full)
    python3 kernels/dev/fsk_harness.py all "${LIBS[@]}" --out "$OUT/results.txt" 2>&1 | tee "$OUT/harness.log"; rc=$?
    ;&
  sanitize)
    for tool in memcheck racecheck; do
      compute-sanitizer --tool $tool --error-exitcode 9 python3 kernels/dev/fsk_harness.py sanitize --lib /tmp/fsk \
        2>&1 | tail -n 30 | tee "$OUT/sanitize_$tool.log"
      echo "compute-sanitizer $tool exit: ${PIPESTATUS[0]}" | tee -a "$OUT/sanitize_$tool.log"
    done ;;
esac
exit $rc
