#!/usr/bin/env bash
# On the GPU host, after unpack.sh staged the JRE, Spark's jars, the app (its job jar built with
# -Prapids: stage.sh after `mvn -Prapids -DskipTests install`) and /opt/stage/rapids.jar: the same work
# through bin/flashspark with and without the RAPIDS Accelerator (FLASHSPARK_RAPIDS_JAR), side by side.
#   run-rapids.sh sql   flash_attention over a table of ROWS (20000) rows x KEYS (64) keys x DIM (64)
#                       (sql_input.py): both outputs compared (compare_sql.py: o within 1 ulp, lse 1e-12,
#                       sampled rows against float64), where the plugin ran the function, and a bad row's
#                       error with and without the plugin
#   run-rapids.sh job   score on the 1M-token x 8-head d128 causal bf16 document (and with BATCH=1 the
#                       64 x 64k batch), each way twice (the second over a class data sharing archive):
#                       --explain plans, stage times, outputs compared (compare_outputs.py)
# Logs go to $OUT; a table is printed last.
set -uo pipefail
mode=${1:-sql}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=/opt/stage
OUT=${OUT:-/tmp/flashspark-out}; mkdir -p "$OUT"
export JAVA_HOME=$stage/jre
source "$root/tools/gpu-host/layout.sh"
fs=$root/bin/flashspark
rapids=$stage/rapids.jar
[ -f "$rapids" ] || { echo "no $rapids: stage the RAPIDS parts first (stage-rapids.sh, unpack.sh)" >&2; exit 1; }
export FLASHSPARK_JAVA_OPTS="-Xmx${HEAP:-100g} -Dspark.local.dir=/tmp/spark-local ${JAVA_EXTRA:-}"
work=/tmp/fs; mkdir -p $work
table=$OUT/table-rapids-$mode.txt; : > "$table"
source "$root/tools/gpu-host/measure.sh"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
# run NAME PLUGIN ARGS...: with PLUGIN=1 through SparkSubmit with the plugin; its driver log is $OUT/NAME.driver.log;
# one table line: exit, wall, the score's clock and kernels, GPU busy (the issue's ratio: score / busy)
run() { local name=$1 plugin=$2; shift 2; local t0=$(date +%s.%N); util=$OUT/$name.util.csv
  if [ "$plugin" = 1 ]; then FLASHSPARK_RAPIDS_JAR=$rapids FLASHSPARK_LOG=$OUT/$name.driver.log sampled "$fs" "$@" > "$OUT/$name.log" 2>&1
  else FLASHSPARK_LOG=$OUT/$name.driver.log sampled "$fs" "$@" > "$OUT/$name.log" 2>&1; fi
  local rc=$?; row "$name (exit $rc)" "$OUT/$name.log" "$(secs $t0)" "$util"; return $rc; }
if [[ $mode == sql ]]; then
  in=$work/sql-in; [ -d $in ] || python3 "$root/tools/gpu-host/sql_input.py" $in ${ROWS:-20000} ${KEYS:-64} ${DIM:-64} | tee -a "$table"
  q="SELECT id, flash_attention(q, keys, values) AS r FROM t"
  for rep in 1 2; do
    for v in rows rapids; do
      rm -rf $work/sql-$v; run sql-$v-$rep $([ $v = rapids ] && echo 1 || echo 0) sql --table t=$in --output $work/sql-$v --explain "$q"
    done
  done
  python3 "$root/tools/gpu-host/compare_sql.py" $in $work/sql-rows $work/sql-rapids 2>&1 | tee -a "$table"
  echo "where the plugin ran the function:" | tee -a "$table"
  grep -h "columnar path on GPU" "$OUT"/sql-rapids-1.driver.log | cut -c1-200 | head -2 | tee -a "$table"
  grep -h "flash_attention:" "$OUT"/sql-rapids-1.log | head -1 | tee -a "$table"
  grep -h -A2 "The RAPIDS Accelerator: what it would leave" "$OUT"/sql-rapids-1.log | cut -c1-200 | tee -a "$table"
  grep -h -i "GpuProject\|GpuScalaUDF\|GpuFileSourceScan\|GpuDataWritingCommand\|GpuInsertInto\|Project\b" "$OUT"/sql-rapids-1.log | head -8 | tee -a "$table"
  grep -h -B1 -A3 "cannot run on GPU" "$OUT"/sql-rapids-1.driver.log | cut -c1-220 | head -20 | tee -a "$table"
  bad=$work/sql-bad; [ -d $bad ] || python3 "$root/tools/gpu-host/sql_input.py" $bad 5000 8 32 --bad 3210 > /dev/null
  for v in rows rapids; do
    rm -rf $work/bad-$v; run bad-$v $([ $v = rapids ] && echo 1 || echo 0) sql --table t=$bad --output $work/bad-$v "$q"
    grep -h "flashspark: error" "$OUT/bad-$v.log" | head -1 | tee -a "$table"; [ -d $work/bad-$v ] && echo "  (an output was written!)" | tee -a "$table"
  done
else
  input=$work/tokens-8x1048576
  [ -f $input/_SUCCESS ] || "$fs" generate --output $input --docs 1 --tokens 1048576 --heads 8 --dim 128 --packed bf16 > "$OUT/generate.log" 2>&1
  sets=("1m:$input:${SCORE_ARGS:-}")
  if [ "${BATCH:-0}" = 1 ]; then
    batch=$work/batch; [ -f $batch/_SUCCESS ] || "$fs" generate --output $batch --docs 64 --tokens 65536 --heads 1 --dim 128 --packed bf16 > "$OUT/generate-batch.log" 2>&1
    sets+=("batch:$batch:--output-format bf16")
  fi
  # Each way twice: bin/flashspark's first run on a class path records its classes and dumps a class data
  # sharing archive after it exits (in the background); the second runs over it, as a user's runs after
  # the first do (the rows run's and the plugin's class paths have an archive each).
  for rep in 1 2; do
    for s in "${sets[@]}"; do
      IFS=: read -r name in extra <<< "$s"
      for v in rows rapids; do
        rm -rf $work/out-$name-$v; n=score-$name-$v-$rep
        run $n $([ $v = rapids ] && echo 1 || echo 0) score --input $in --output $work/out-$name-$v --causal --backend gpu --explain $extra
        grep -h "time by stage\|attention kernels\|scored .* in [0-9.]*s\|themselves (no routing" "$OUT/$n.log" | cut -c1-330 | tee -a "$table"
        # --explain under the plugin: its own account of what it leaves on the CPU (RapidsExplain)
        grep -h -A3 "The RAPIDS Accelerator: what it would leave" "$OUT/$n.log" | cut -c1-200 | tee -a "$table"
      done
      echo -n "  outputs with and without the plugin: " | tee -a "$table"
      python3 "$root/tools/gpu-host/compare_outputs.py" $work/out-$name-rows $work/out-$name-rapids 0 2>&1 | tail -1 | tee -a "$table"
      grep -h -c "cannot run on GPU" "$OUT/score-$name-rapids-$rep.driver.log" | sed 's/^/  plugin explain lines "cannot run on GPU": /' | tee -a "$table"
      rm -rf $work/out-$name-rows $work/out-$name-rapids
    done
    # the archives the first runs left to dump (at most a minute)
    for i in $(seq 60); do pgrep -f -- '-Xshare:dump' > /dev/null || break; sleep 1; done
  done
fi
tar czf "$OUT/logs-rapids-$mode.tgz" -C "$OUT" $(cd "$OUT" && ls | grep -v '\.tgz$')
find "$OUT" -maxdepth 1 -type f ! -name '*.tgz' ! -name 'table-*' -delete
cat "$table"
