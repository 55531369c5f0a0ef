#!/usr/bin/env bash
# session 20, call E (calls A3 and B3 staged the JRE, Spark's parts 02 and 00 and two builds; this call carries
# part 01): 199974b (app-before: call C's build, reads logged) against 7b7c901 (app: the last
# query chunk of a launch cut into 4 pieces, chunk buffers pooled, reading threads started ahead, a read queued
# moments ago giving way to an earlier task's), alternated, each over its class data sharing archive.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/e; mkdir -p $R
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  echo "== $name: $(grep -h 'local\[' $R/$name.txt | head -1 | grep -o 'score *[0-9.]*s.*busy: gpu0 [0-9.]*s')"; }
one dump-before APP=app-before -- -Dx=1
one dump-new -- -Dx=1
for i in 1 2 3; do
  one before-$i APP=app-before -- -Dx=1
  CHECK_SKIP=$([ $i = 3 ] && echo 0 || echo 1) one new-$i -- -Dx=1
done
one new-bf16 -- -Dx=1::--output-format bf16
one before-bf16 APP=app-before -- -Dx=1::--output-format bf16
for n in before-1 new-1 before-2 new-2 before-3 new-3 new-bf16 before-bf16; do
  tar xzf $R/$n/logs-1m.tgz -C $R/$n spark-1m-local-0.log score-1m-local-0.log 2>/dev/null
  echo "== $n $(grep -h 'Pause' $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep -h 'time by stage' $R/$n/score-1m-local-0.log | cut -c23-200; done
grep -h "missing or extra\|max |o" $R/new-3.txt | head -6
(cd $OUT && tar czf e.tgz e && rm -rf e)
