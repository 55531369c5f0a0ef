#!/usr/bin/env bash
# On the GPU host, after unpack.sh staged the JRE, Spark's jars and the app in /opt/stage:
# the job end to end with --backend gpu in Spark local mode: a small demo checked against the
# float64 reference, then one document of TOKENS tokens, 8 heads, d=128, causal.
set -uo pipefail
stage=/opt/stage
OUT=${OUT:-/tmp/flashspark-out}; mkdir -p "$OUT"
TOKENS=${TOKENS:-1048576}
java=$stage/jre/bin/java
cp="$(ls "$stage"/app/*.jar | grep -v -e console-standalone -e gpu-udf-tests | tr '\n' ':')$stage/jars/*"
opts=$(grep -v '^\s*#' "$(dirname "${BASH_SOURCE[0]}")/../../conf/jvm-options" 2>/dev/null | tr '\n' ' ')
[ -n "$opts" ] || opts=$(grep -v '^\s*#' /opt/stage/app/jvm-options | tr '\n' ' ')
run() { "$java" -Xmx${HEAP:-64g} $opts -Dspark.local.dir=/tmp/spark-local -Dlog4j2.configurationFile=/opt/stage/app/log4j2.properties \
  -cp "$cp" io.flashspark.job.FlashSpark "$@"; }
work=/tmp/fs; rm -rf $work; mkdir -p $work
"$java" -cp "$cp" io.flashspark.gpu.MergeBench 2>&1 | tee "$OUT/merge-bench.log"
set -x
run demo --backend gpu --docs 2 --tokens 16384 --heads 4 --dim 64 --work $work/demo 2>&1 | tee "$OUT/demo-gpu.log"
t0=$(date +%s)
run generate --output $work/tokens --docs 1 --tokens "$TOKENS" --heads 8 --dim 128 --packed bf16 2>&1 | tee "$OUT/generate.log"
t1=$(date +%s)
run score --input $work/tokens --output $work/attn --causal --packed bf16 --backend gpu --precision bf16 \
  --block-size ${BLOCK:-8192} --cells ${CELLS:-16} 2>&1 | tee "$OUT/score-1m.log"
t2=$(date +%s)
echo "generate $((t1 - t0)) s, score $((t2 - t1)) s" | tee -a "$OUT/score-1m.log"
run check --input $work/tokens --output $work/attn --causal --packed bf16 --precision bf16 --doc-heads 2 \
  --rows ${CHECK_ROWS:-32} 2>&1 | tee "$OUT/check-1m.log"
du -sh $work/tokens $work/attn | tee -a "$OUT/score-1m.log"
