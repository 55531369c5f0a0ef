#!/usr/bin/env bash
# session 20, call E (calls A3 and B3 staged the JRE, Spark's parts 02 and 00 and two builds; this call carries
# part 01), short of device time: 199974b (app-before: call C's build, reads logged) against 7b7c901 (app: the
# last query chunk of a launch cut into 4 pieces, chunk buffers pooled, reading threads started ahead, a read
# queued moments ago giving way to an earlier task's), alternated, without class data sharing archives (no dump
# runs); each run's summary, read and cell lines appended to $OUT/e.txt as it ends (kept if the call is cut short).
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=/tmp/e; rm -rf $R; mkdir -p $R; S=$OUT/e.txt
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=0 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 100 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  tar xzf $R/$name/logs-1m.tgz -C $R/$name spark-1m-local-0.log score-1m-local-0.log 2>/dev/null
  { echo "== $name: $(grep -h 'local\[' $R/$name.txt | head -1 | grep -o 'score *[0-9.]*s.*busy: gpu0 [0-9.]*s')" \
      "$(grep -h 'Pause' $R/gc-$name.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
    grep -h 'time by stage\|done: \|in [0-9.]*s ->' $R/$name/score-1m-local-0.log | cut -c1-330
    grep -h 'read(s)\|first call\|read in' $R/$name/spark-1m-local-0.log | cut -c1-330
    grep -h "missing or extra\|max |o" $R/$name.txt; } >> $S
  grep "^== $name" $S; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $S
for i in 1 2 3; do
  one before-$i APP=app-before -- -Dx=1
  CHECK_SKIP=$([ $i = 2 ] && echo 0 || echo 1) one new-$i -- -Dx=1
done
