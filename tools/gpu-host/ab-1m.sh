#!/usr/bin/env bash
# On the GPU host, after unpack.sh: the 1M-token x 8-head d128 causal bf16 job (run-cluster.sh, local mode, over a
# class data sharing archive) once per run given, in order, each "NAME|APP|JVM OPTIONS|SCORE OPTIONS" (APP: a
# staged build, app or app-before; empty JVM or score options: none). A NAME starting with "check" is checked
# against the float64 reference; a NAME starting with "dump" is a build's first run (it dumps the archive: time
# it but do not count it). One summary per run (score clock, process wall, GPU busy, GC pauses, stage split, the
# first two tasks' reads, the first three cells' first launches, the check) goes to $OUT/ab.txt as it ends;
# logs to $OUT/ab-logs.tgz. Alternate the runs being compared: the host drifts between runs.
#   OUT=$OUT bash tools/gpu-host/ab-1m.sh "dump|app||" "on-1|app|-Dflashspark.gpu.registeredRings=true|" \
#     "off-1|app||" "check-bf16|app||--output-format bf16"
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-/tmp/flashspark-out}; mkdir -p "$OUT"
R=/tmp/ab; rm -rf $R; mkdir -p $R
S=$OUT/ab.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$S"
for run in "$@"; do
  IFS='|' read -r name app jvm args <<< "$run"
  check=1; [[ $name == check* ]] && check=0
  env CDS=1 APP="$app" OUT=$R/$name WORKERS=0 SKIP_CHECK=$check \
    LOCAL_VARIANTS="${jvm:--Dx=1} -Xlog:gc:file=$R/gc-$name.log::${args:-default}" \
    timeout ${RUN_TIMEOUT:-150} bash "$root/tools/gpu-host/run-cluster.sh" 1m > $R/$name.txt 2>&1
  tar xzf $R/$name/logs-1m.tgz -C $R/$name spark-1m-local-0.log score-1m-local-0.log 2>/dev/null
  { echo "== $name ($app; ${jvm:-no options}; ${args:-default}): $(grep -h 'local\[' $R/$name.txt | head -1 \
        | grep -o 'wall.*busy: gpu0 [0-9.]*s')" \
      "$(grep -h 'Pause' $R/gc-$name.log 2>/dev/null | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
    grep -h 'time by stage\|in [0-9.]*s ->' $R/$name/score-1m-local-0.log 2>/dev/null | cut -c1-330
    grep -h 'read(s)' $R/$name/spark-1m-local-0.log 2>/dev/null | head -2 | cut -c1-250
    grep -h 'first call' $R/$name/spark-1m-local-0.log 2>/dev/null | head -3 | cut -c1-420
    grep -h "missing or extra\|max |o" $R/$name.txt | sort -u; } >> "$S"
  grep "^== $name" "$S"
done
(cd $R && tar czf "$OUT/ab-logs.tgz" *.txt gc-*.log */score-1m-local-0.log */spark-1m-local-0.log 2>/dev/null)
