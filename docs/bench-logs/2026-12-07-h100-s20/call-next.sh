#!/usr/bin/env bash
# Prepared in session 20 for the next session, NOT RUN (the device budget was spent). After calls staging the JRE,
# Spark's parts and the build (A: jre + part 02, B: part 00 + app, this call: part 01): is the first wave of reads slow
# (1.06 s per 49 MB cold read, 24-36 % on a CPU, against 0.23-0.43 s later) because fresh heap is faulted in?
# Each read's log line now splits parquet-mr's row group reads (file into column-chunk buffers) from decoding and
# packing. A 40 GB heap (huge pages, as from 32 GB) with and without pre-touching (the JVM faults the whole heap in at start, before the score's
# clock; check the plan is the same: 8 cells), and 12 reading threads. Then branch s20-kv-by-chunk (keys and values
# uploaded chunk by chunk, a causal launch starting once its first chunk's keys are up), staged as .stage/app-kv
# (build the branch's worktree with test-compile, copy .stage/app, replace the gpu-udf, job and gpu-udf-tests jars: the
# last zipped from its gpu-udf/target/test-classes as stage.sh does) and copied to /opt/stage/app-kv by
# the staging call: its GPU tests first, then alternated with main.
# Session 21 (no device lent) added the page reader's alternation (-Dflashspark.plainPages=false is session 20's
# reading path in the same build) first, and dropped the 12-thread run; the reads' log lines now also say in how
# many row groups the page reader was taken. Fifteen runs of ~30 s may not fit one 600 s call: PART=reader (main's
# runs) and PART=kv (the branch) split it over two calls, the machine kept warm between them. Build app-kv from the
# branch's tip (main merged in up to session 21's end).
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=/tmp/n; rm -rf $R; mkdir -p $R; S=$OUT/next.txt
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  tar xzf $R/$name/logs-1m.tgz -C $R/$name spark-1m-local-0.log score-1m-local-0.log util-1m-local-0.vmstat 2>/dev/null
  { echo "== $name: $(grep -h 'local\[' $R/$name.txt | head -1 | grep -o 'wall.*busy: gpu0 [0-9.]*s')" \
      "$(grep -h 'Pause' $R/gc-$name.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
    grep -h 'time by stage\|done: \|in [0-9.]*s ->' $R/$name/score-1m-local-0.log | cut -c1-330
    grep -h 'read(s)\|first call\|read in\|rows taken' $R/$name/spark-1m-local-0.log | cut -c1-400
    cat $R/$name/util-1m-local-0.vmstat
    grep -h "missing or extra\|max |o" $R/$name.txt; } >> $S
  grep "^== $name" $S; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $S
PART=${PART:-all} # reader: the runs of main only; kv: the branch's GPU tests and its alternation; all: both
if [ "$PART" != kv ]; then
one dump -- -Dx=1
# session 21: vectors through their own page reader (default) against parquet-mr's column readers, alternated
one parquetmr-1 -- -Dflashspark.plainPages=false
one default-1 -- -Dx=1
one parquetmr-2 -- -Dflashspark.plainPages=false
CHECK_SKIP=0 one default-2 -- -Dx=1
one dump40 HEAP=40g -- -Dx=1
one heap40 HEAP=40g -- -Dx=1
one pretouch40 HEAP=40g -- -XX:+AlwaysPreTouch
fi
if [ "$PART" != reader ] && [ -d /opt/stage/app-kv ]; then
  kv=/opt/stage/app-kv; cp="$(ls $kv/*.jar | grep -v console-standalone | tr '\n' ':')"
  /opt/stage/jre/bin/java -jar $kv/junit-platform-console-standalone-*.jar execute --class-path "$cp" \
    --select-class io.flashspark.gpu.GpuBackendTest --select-class io.flashspark.gpu.LaunchPlanTest \
    --select-class io.flashspark.gpu.ListAttentionTest --details=summary --disable-banner > $R/kv-tests.log 2>&1
  echo "kv GPU tests: exit $?; $(grep -h 'tests successful\|tests failed' $R/kv-tests.log | tr '\n' ' ')" | tee -a $S
  grep -q "0 tests failed" $R/kv-tests.log && { one dump-kv APP=app-kv -- -Dx=1
    for i in 1 2; do one main-$i -- -Dx=1; CHECK_SKIP=$([ $i = 2 ] && echo 0 || echo 1) one kv-$i APP=app-kv -- -Dx=1; done; }
fi
