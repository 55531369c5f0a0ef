#!/usr/bin/env bash
# session 19, call G (calls A and B staged the JRE, Spark's parts 00 and 01 and both builds; this call carries
# part 02): 5de9261 (app-before: session 18's head, its own gpu-udf) against this session's code (app: the build of
# the commit that adds this script), every score over its build's class data sharing archive (CDS=1; one score per
# build dumps it first). A line per run goes to $OUT/summary.txt as soon as it ends (the call may be cut short).
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/g; mkdir -p $R
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  { echo "== $name: $(grep 'local\[' $R/$name.txt | head -1 | grep -o 'score *[0-9.]*s\|busy: gpu0 [0-9.]*s' | tr '\n' ' ')"
    grep -h 'time by stage' $R/$name.txt | cut -c23-200; grep -h "missing or extra\|max |o" $R/$name.txt | head -2; } >> $OUT/summary.txt; }
one new-dump -- -Dx=1
one before-dump APP=app-before -- -Dx=1
one new-1 -- -Dx=1
one before-1 APP=app-before -- -Dx=1
one new-bf16 -- -Dx=1::--output-format bf16
CHECK_SKIP=0 one new-2 -- -Dx=1
one before-2 APP=app-before -- -Dx=1
cat $OUT/summary.txt
(cd $OUT && tar czf g.tgz g && rm -rf g)
