#!/usr/bin/env bash
# session 19, call F (calls A and B staged the JRE, Spark's parts 00 and 01 and both builds; this call carries
# part 02): every score over its build's class data sharing archive (CDS=1; one score per build dumps it first).
# 5164a5c's build (app-before: call E's, warm-up and row-group skipping) against e18d958 (app: slabs allocated
# outside their lock), alternated, default and bf16 output; GC logs.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/f; mkdir -p $R
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1; }
one new-dump -- -Dx=1
one before-dump APP=app-before -- -Dx=1
for i in 1 2; do
  one before-$i APP=app-before -- -Dx=1
  CHECK_SKIP=$([ $i = 2 ] && echo 0 || echo 1) one new-$i -- -Dx=1
  one before-bf16-$i APP=app-before -- -Dx=1::--output-format bf16
  one new-bf16-$i -- -Dx=1::--output-format bf16
done
for n in new-dump before-dump before-1 new-1 before-bf16-1 new-bf16-1 before-2 new-2 before-bf16-2 new-bf16-2; do
  echo "== $n $(grep -h "Pause" $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep 'local\[' $R/$n.txt | head -1 | cut -c1-170; grep -h 'time by stage' $R/$n.txt | cut -c23-310; done
grep -h "missing or extra\|max |o" $R/new-2.txt | head -3
(cd $OUT && tar czf f.tgz f && rm -rf f)
