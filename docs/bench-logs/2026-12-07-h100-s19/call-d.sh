#!/usr/bin/env bash
# session 19, call D (calls A and B staged the JRE, Spark's parts 00 and 01 and both builds; this call carries
# part 02): every score over its build's class data sharing archive (CDS=1; one score per build dumps it first).
# 5de9261 (app-before, session 18's head) against 1527b97 (app: cells skip other heads' row groups; the reading
# path warmed up while the driver plans), alternated; the new build with its warm-up off, with query chunks of
# 64 MiB (-Dflashspark.gpu.chunkBytes: smaller last chunk, shorter write tail), and with bf16 output.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/d; mkdir -p $R
faults() { awk '$1 == "pgfault" { printf "%s", $2 }' /proc/vmstat; }
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift; local f0=$(faults)
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  echo "$name: $(( ($(faults) - f0) / 1000 ))k page faults" >> $R/faults.txt; }
one new-dump -- -Dx=1
one before-dump APP=app-before -- -Dx=1
one before-1 APP=app-before -- -Dx=1
one new-1 -- -Dx=1
one nowarm-1 -- -Dflashspark.warmUp=false
one chunk64-1 -- -Dflashspark.gpu.chunkBytes=67108864
one new-bf16 -- -Dx=1::--output-format bf16
one before-2 APP=app-before -- -Dx=1
CHECK_SKIP=0 one new-2 -- -Dx=1
one nowarm-2 -- -Dflashspark.warmUp=false
one chunk64-2 -- -Dflashspark.gpu.chunkBytes=67108864
cat $R/faults.txt
for n in new-dump before-dump before-1 new-1 nowarm-1 chunk64-1 new-bf16 before-2 new-2 nowarm-2 chunk64-2; do
  echo "== $n $(grep -h "Pause" $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep 'local\[' $R/$n.txt | head -1 | cut -c1-170; grep -h 'time by stage' $R/$n.txt | cut -c23-310; done
grep -h "missing or extra\|max |o" $R/new-2.txt | head -3
(cd $OUT && tar czf d.tgz d && rm -rf d)
