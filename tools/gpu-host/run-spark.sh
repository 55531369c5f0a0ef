#!/usr/bin/env bash
# On the GPU host, after unpack.sh staged the JRE, Spark's jars and the app in /opt/stage: the job
# end to end with --backend gpu in Spark local mode.
#   run-spark.sh 1m    a small demo checked against the float64 reference; one document of TOKENS
#                      (1M) tokens x 8 heads, d=128, causal, packed bf16, scored with the default
#                      output and with --output-format bf16, each checked on sampled rows
#   run-spark.sh long  one document of LONG (16M) tokens x 1 head, d=128, causal, scored (bf16
#                      output) and checked on sampled rows
# Logs (and each score's summary: stage times, shuffle bytes, kernel time) go to $OUT.
set -uo pipefail
mode=${1:-1m}
stage=/opt/stage
OUT=${OUT:-/tmp/flashspark-out}; mkdir -p "$OUT"
java=$stage/jre/bin/java
cp="$(ls "$stage"/app/*.jar | grep -v -e console-standalone -e gpu-udf-tests | tr '\n' ':')$stage/jars/*"
opts=$(grep -v '^\s*#' /opt/stage/app/jvm-options | tr '\n' ' ')
# the app's jars, or those of an earlier build in /opt/stage/app-before when BEFORE=1
run() { local jars=$cp; [ "${BEFORE:-0}" = 1 ] && jars="$(ls "$stage"/app-before/*.jar | tr '\n' ':')$stage/app/jcuda-12.6.0.jar:$(ls "$stage"/app/jcuda-natives*.jar):$stage/jars/*"
  "$java" -Xmx${HEAP:-64g} $opts -Dspark.master=${MASTER:-local[*]} -Dspark.local.dir=/tmp/spark-local \
  -Dlog4j2.configurationFile=/opt/stage/app/log4j2.properties -cp "$jars" io.flashspark.job.FlashSpark "$@"; }
# timed LOG ARGS...: runs the command, its output and its wall time (JVM start included) into LOG
timed() { local log=$1; shift; local t0=$(date +%s.%N); run "$@" > "$log" 2>&1; local rc=$?
  echo "$1 wall $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s (JVM included), exit $rc" | tee -a "$log"; }
work=/tmp/fs; mkdir -p $work
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
if [[ $mode == 1m ]]; then
  rm -rf $work/demo $work/tokens $work/attn*
  [ "${SKIP_DEMO:-0}" = 1 ] || timed "$OUT/demo-gpu.log" demo --backend gpu --docs 2 --tokens 16384 --heads 4 --dim 64 --work $work/demo
  timed "$OUT/generate.log" generate --output $work/tokens --docs 1 --tokens ${TOKENS:-1048576} --heads 8 --dim 128 \
    --packed bf16
  if [ -d "$stage/app-before" ]; then # the same job on the earlier build, same machine, same input
    BEFORE=1 timed "$OUT/score-before.log" score --input $work/tokens --output $work/attn-before --causal --backend gpu \
      ${BEFORE_ARGS:-}
    rm -rf $work/attn-before
  fi
  for fmt in array bf16; do
    timed "$OUT/score-$fmt.log" score --input $work/tokens --output $work/attn-$fmt --causal --backend gpu \
      --output-format $fmt ${SCORE_ARGS:-}
    timed "$OUT/check-$fmt.log" check --input $work/tokens --output $work/attn-$fmt --causal --precision bf16 \
      --doc-heads 2 --rows ${CHECK_ROWS:-32}
  done
  du -sh $work/tokens $work/attn-* | tee -a "$OUT/generate.log"
else
  rm -rf $work/long $work/long-attn
  timed "$OUT/generate-long.log" generate --output $work/long --docs 1 --tokens ${LONG:-16777216} --heads 1 --dim 128 \
    --packed bf16
  ( while sleep 20; do free -g | awk 'NR==2{print "host memory used GB:", $3}'; done ) > "$OUT/memory-long.log" &
  mon=$!
  timed "$OUT/score-long.log" score --input $work/long --output $work/long-attn --causal --backend gpu \
    --output-format bf16 ${SCORE_ARGS:-}
  kill $mon
  timed "$OUT/check-long.log" check --input $work/long --output $work/long-attn --causal --precision bf16 \
    --doc-heads 1 --rows ${CHECK_ROWS:-16}
fi
tail -n 4 "$OUT"/*.log
