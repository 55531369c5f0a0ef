#!/usr/bin/env bash
# On the GPU host, after unpack.sh staged the JRE, Spark's jars and the app in /opt/stage: the job
# through bin/flashspark-cluster (standalone Master and Workers, one GPU per worker as a Spark
# resource), next to Spark local mode on the same input.
#   run-cluster.sh 1m      one document of TOKENS (1M) tokens x HEADS (8) heads, d=128, causal, packed bf16:
#                          local mode, then clusters of 1..GPUS workers (one GPU each); outputs
#                          checked on sampled rows against the float64 reference
#   run-cluster.sh sweep   bench --sweep SWEEP (smoke) --backend gpu --output $OUT/sweep (results.json, plots)
#   run-cluster.sh batch   DOCS (64) documents of BATCH_TOKENS (65536) tokens x 1 head, d=128, causal:
#                          local mode, then clusters of 1..GPUS workers; documents per second
# Each worker gets CORES cores (default: the host's cores / GPUS) and WORKER_MEM (100g) of executor heap;
# WORKERS lists the cluster sizes to run (default 1..GPUS; 0: none), SKIP_LOCAL=1 skips local mode,
# JVM_EXTRA adds options to the local-mode score's JVM (e.g. a Flight Recorder recording into $OUT); its log file
# (Spark's and flashspark's INFO lines, e.g. each cell's read and kernel times) goes to $OUT/spark-MODE-local-I.log. While each
# score runs, nvidia-smi samples every GPU's utilisation every 250 ms: "GPU busy" is the sum over
# samples of utilisation x 0.25 s (time a kernel was running), per GPU, to set against the wall time.
# SUBMIT_EXTRA adds options to the cluster's submitting JVM (e.g. -Dspark.eventLog.*). COMPARE=1 keeps the first
# cluster run's output and compares each later cluster run's output with it row by row (compare_outputs.py,
# pyarrow; COMPARE_TOL, default 0: bit-identical).
# CODEC (e.g. uncompressed) generates and reads a table written with that Parquet codec instead of Spark's default,
# ROW_GROUP (bytes) one with row groups of that size. CDS=1 runs local scores over a class data sharing archive,
# as bin/flashspark does (the first score of a build dumps it: run one to warm up first).
# APP=app-before runs an earlier build staged beside the current one (local mode), SKIP_CHECK=1 skips
# the reference checks, LOCAL_DIR sets local mode's spark.local.dir (default /tmp/spark-local), KEEP_OUTPUT=1 leaves the local run's output in /tmp/fs/out-local (check it in
# a later call: jrun check ... --output /tmp/fs/out-local, while the machine stays warm). Logs go to $OUT; the table of wall times is printed last.
# The device tool brings back at most 8 files of $OUT per call: a call that runs this several times should tar
# its whole $OUT into one file at the end (docs/bench-logs/2026-12-02-h200-s12/call-f.sh does).
set -uo pipefail
mode=${1:-1m}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=/opt/stage
OUT=${OUT:-/tmp/flashspark-out}; mkdir -p "$OUT"
export JAVA_HOME=$stage/jre FLASHSPARK_CLUSTER_DIR=/tmp/fs-cluster
gpus=${GPUS:-$(nvidia-smi -L | grep -c '^GPU')}
cores=${CORES:-$(( $(nproc) / gpus ))}
source "$root/tools/gpu-host/layout.sh"
cluster=$root/bin/flashspark-cluster
java=$stage/jre/bin/java
cp="$(ls "$app"/*.jar | grep -v -e console-standalone -e gpu-udf-tests | tr '\n' ':')$stage/jars/*"
opts=$(grep -v '^\s*#' "$stage/app/jvm-options" | tr '\n' ' ')
# local mode reads conf/spark-local.conf as bin/flashspark does (PROFILE=none: no profile)
profile=()
[ "${PROFILE:-}" = none ] || while read -r key value; do [[ -z "$key" || "$key" == \#* ]] || profile+=("-D$key=$value")
  done < "${PROFILE:-$root/conf/spark-local.conf}"
# the heap options bin/flashspark gives the JVM (-Xms = -Xmx, then bin/heap-options.sh's); a variant's VJVM wins
source "$root/bin/heap-options.sh"
jrun=("$java" -Xmx${HEAP:-100g} -Xms${HEAP:-100g} $(flashspark_heap_options ${HEAP:-100g}) $opts "${profile[@]}" -Dspark.master=local[*] -Dspark.local.dir=${LOCAL_DIR:-/tmp/spark-local}
  -Dlog4j2.configurationFile=$stage/app/log4j2.properties -cp "$cp" io.flashspark.job.FlashSpark)
local_run() { "${jrun[@]}" "$@"; }
# generate's JVM: CODEC sets spark.sql.parquet.compression.codec for the generated table, ROW_GROUP its row groups'
# size in bytes (parquet.block.size; Spark's default 128 MB); the table's name then ends in -CODEC, -rgROW_GROUP
generate() { "${jrun[@]:0:${#jrun[@]}-3}" ${CODEC:+-Dspark.sql.parquet.compression.codec=$CODEC} \
  ${ROW_GROUP:+-Dspark.hadoop.parquet.block.size=$ROW_GROUP} "${jrun[@]: -3}" generate "$@"; }
suffix=${CODEC:+-$CODEC}${ROW_GROUP:+-rg$ROW_GROUP}
# the score's JVM: JVM_EXTRA and a variant's own JVM options (VJVM) go last before the class path, so
# an -Xmx or -Dspark.* there wins over the defaults above
# CDS=1: local scores map a class data sharing archive of the build's classes, as bin/flashspark's runs do (dumped
# after the first score of each build and heap size into /tmp/fs-cds, that run's wall time included; runs under
# Flight Recorder go without)
local_score() {
  local cds=() list="" archive=""
  if [ "${CDS:-0}" = 1 ] && [[ "${JVM_EXTRA:-} ${VJVM:-}" != *FlightRecord* ]]; then
    mkdir -p /tmp/fs-cds; archive=/tmp/fs-cds/$(echo "$app ${HEAP:-100g}" | sha1sum | cut -c1-12).jsa
    if [ -s "$archive" ]; then cds=(-XX:SharedArchiveFile="$archive" -Xlog:cds=off -Xlog:cds+dynamic=off)
    else list=${archive%.jsa}.classes; cds=(-XX:DumpLoadedClassList="$list"); fi
  fi
  "${jrun[@]:0:${#jrun[@]}-3}" "${cds[@]}" ${JVM_EXTRA:-} ${VJVM:-} "${jrun[@]: -3}" score "$@"; local rc=$?
  if [ -n "$list" ] && [ -s "$list" ]; then
    "$java" -Xshare:dump -Xmx${HEAP:-100g} $opts -XX:SharedClassListFile="$list" -XX:SharedArchiveFile="$archive" \
      -cp "$cp" > /tmp/fs-cds/dump.log 2>&1 || rm -f "$archive"
    rm -f "$list"
  fi
  return $rc; }
export FLASHSPARK_JAVA_OPTS="-Xmx${DRIVER_MEM:-16g} ${SUBMIT_EXTRA:-}"
table=$OUT/table-$mode.txt; : > "$table"
source "$root/tools/gpu-host/measure.sh"
checked() { [ "${SKIP_CHECK:-0}" = 1 ] && return 0; timeout ${CHECK_TIMEOUT:-150} "${jrun[@]}" check "$@"; }
work=/tmp/fs; mkdir -p $work
[ "${COMPARE:-0}" = 1 ] && rm -rf $work/out-cluster-first
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
if [[ $mode == sweep ]]; then
  local_run bench --sweep "${SWEEP:-smoke}" --backend gpu --output "$OUT/sweep" 2>&1 | tee "$OUT/sweep.log" | tail -40
  exit "${PIPESTATUS[0]}"
fi
if [[ $mode == 1m ]]; then
  input=$work/tokens-${HEADS:-8}x${TOKENS:-1048576}$suffix
  [ -f $input/_SUCCESS ] || generate --output $input --docs 1 --tokens ${TOKENS:-1048576} --heads ${HEADS:-8} --dim 128 \
    --packed bf16 > "$OUT/generate-1m.log" 2>&1
  args=(--causal --backend gpu ${SCORE_ARGS:-})
  check=(--causal --precision bf16 --doc-heads 1 --rows ${CHECK_ROWS:-16})
else
  input=$work/batch$suffix
  [ -f $input/_SUCCESS ] || generate --output $input --docs ${DOCS:-64} --tokens ${BATCH_TOKENS:-65536} \
    --heads 1 --dim 128 --packed bf16 > "$OUT/generate-batch.log" 2>&1
  args=(--causal --backend gpu --output-format bf16 ${SCORE_ARGS:-})
  check=(--causal --precision bf16 --doc-heads 2 --rows ${CHECK_ROWS:-16})
fi
# local mode: each variant of LOCAL_VARIANTS ('|'-separated extra score arguments, optionally after
# JVM options and '::', e.g. '-Xmx32g -XX:+AlwaysPreTouch::--output-format bf16'; "default" for
# none; default: the cells' tasks write the output, then the default plan) on the same input
IFS='|' read -r -a variants <<< "${LOCAL_VARIANTS:---write-tasks 0|default}"
[ "${SKIP_LOCAL:-0}" = 1 ] && variants=()
for i in "${!variants[@]}"; do
  v=${variants[$i]}; [ "$v" = default ] && v=""; vjvm=""
  if [[ $v == *::* ]]; then vjvm=${v%%::*}; v=${v#*::}; [ "$v" = default ] && v=""; fi # 'JVM::default' too
  rm -rf $work/out-local; t0=$(date +%s.%N); util=$OUT/util-$mode-local-$i.csv
  VJVM="$vjvm -Dflashspark.log.file=$OUT/spark-$mode-local-$i.log" sampled local_score --input $input --output $work/out-local "${args[@]}" $v \
    > "$OUT/score-$mode-local-$i.log" 2>&1
  row "local[*] ${vjvm:+$vjvm :: }${v:-default} (exit $?)" "$OUT/score-$mode-local-$i.log" "$(secs $t0)" "$util"
  checked --input $input --output $work/out-local "${check[@]}" > "$OUT/check-$mode-local-$i.log" 2>&1
  grep -h "missing or extra\|max |o" "$OUT/check-$mode-local-$i.log" | head -3 | tee -a "$table"
  [ "${KEEP_OUTPUT:-0}" = 1 ] || rm -rf $work/out-local # KEEP_OUTPUT=1: left for a later check (last variant's)
done
for n in ${WORKERS:-$(seq 1 "$gpus")}; do
  [[ $n == 0 ]] && continue # WORKERS=0: local mode only
  "$cluster" start "$n" --gpus-per-worker 1 --cores "$cores" --memory "${WORKER_MEM:-100g}" > "$OUT/cluster-$mode-$n.log" 2>&1 \
    || { cat "$OUT/cluster-$mode-$n.log"; break; }
  out=$work/out-cluster-$n; rm -rf "$out"; t0=$(date +%s.%N); util=$OUT/util-$mode-cluster-$n.csv
  sampled "$cluster" submit score --input $input --output "$out" "${args[@]}" > "$OUT/score-$mode-cluster-$n.log" 2>&1
  row "cluster, $n worker(s)/GPU(s) (exit $?)" "$OUT/score-$mode-cluster-$n.log" "$(secs $t0)" "$util"
  "$cluster" stop >> "$OUT/cluster-$mode-$n.log" 2>&1
  cp "$FLASHSPARK_CLUSTER_DIR/submit.log" "$OUT/submit-$mode-$n.log" 2>/dev/null
  checked --input $input --output "$out" "${check[@]}" > "$OUT/check-$mode-cluster-$n.log" 2>&1
  grep -h "missing or extra\|max |o" "$OUT/check-$mode-cluster-$n.log" | head -3 | tee -a "$table"
  if [ "${COMPARE:-0}" = 1 ]; then
    if [ -d $work/out-cluster-first ]; then
      echo -n "  against the first cluster run: " | tee -a "$table"
      python3 "$root/tools/gpu-host/compare_outputs.py" $work/out-cluster-first "$out" "${COMPARE_TOL:-0}" 2>&1 | tail -1 | tee -a "$table"
    else
      mv "$out" $work/out-cluster-first
    fi
  fi
  rm -rf "$out"
done
grep -h "time by stage\|shuffled\|backend:" "$OUT"/score-$mode-*.log | cut -c1-400
# one archive of every log (the device tool returns few files)
tar czf "$OUT/logs-$mode.tgz" -C "$OUT" $(cd "$OUT" && ls | grep -v '\.tgz$\|\.jfr$')
find "$OUT" -maxdepth 1 -type f ! -name '*.tgz' ! -name '*.jfr' ! -name 'table-*' -delete
cat "$table"
