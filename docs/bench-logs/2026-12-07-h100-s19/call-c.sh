#!/usr/bin/env bash
# session 19, call C (calls A and B staged the JRE, Spark's parts 00 and 01 and both builds; this call carries
# part 02): 5de9261 (app-before, session 18's head) against 33e48a5 (app: cells skip the row groups of other
# cells' heads), alternated; then the new build over a class data sharing archive (CDS=1: the first such score
# dumps it), default and bf16 output; the new build's bf16 output without the archive. GC logs, page faults.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/c; mkdir -p $R
faults() { awk '$1 == "pgfault" { printf "%s", $2 }' /proc/vmstat; }
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift; local f0=$(faults)
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  echo "$name: $(( ($(faults) - f0) / 1000 ))k page faults" >> $R/faults.txt; }
one before-1 APP=app-before -- -Dx=1
one new-1 -- -Dx=1
one before-2 APP=app-before -- -Dx=1
CHECK_SKIP=0 one new-2 -- -Dx=1
one cds-dump CDS=1 -- -Dx=1
one cds-1 CDS=1 -- -Dx=1
one cds-bf16 CDS=1 -- -Dx=1::--output-format bf16
one new-bf16 -- -Dx=1::--output-format bf16
CHECK_SKIP=0 one cds-2 CDS=1 -- -Dx=1
cat $R/faults.txt
for n in before-1 new-1 before-2 new-2 cds-dump cds-1 cds-bf16 new-bf16 cds-2; do
  echo "== $n $(grep -h "Pause" $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep 'local\[' $R/$n.txt | head -1 | cut -c1-170; grep -h 'time by stage' $R/$n.txt | cut -c23-310; grep -ho 'the cells skipped.*' $R/$n.txt; done
grep -h "missing or extra\|max |o" $R/new-2.txt $R/cds-2.txt | head -6
(cd $OUT && tar czf c.tgz c && rm -rf c)
