# session 18, call D on a fresh H100 (calls A and B staged the JRE, Spark's parts 00 and 01 and both builds; this
# call carried part 02): 017f528 (app-before) against 20f545b (app: output rows written in place,
# tables opened with no schema job, blocks in slabs, cells reading through parquet-mr), alternated; the new build
# with its parquet-mr reading off (-Dflashspark.parquetTokens=false) and with its slabs off. GC logs and page faults per run; the second default run of the new build checked.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/d; mkdir -p $R
faults() { awk '$1 == "pgfault" { printf "%s", $2 }' /proc/vmstat; }
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift; local f0=$(faults)
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  echo "$name: $(( ($(faults) - f0) / 1000 ))k page faults" >> $R/faults.txt; }
one before-1 APP=app-before -- -Dx=1
one new-1 -- -Dx=1
one no-pqt -- -Dflashspark.parquetTokens=false
one no-slab -- -Dflashspark.slabs=false
one before-2 APP=app-before -- -Dx=1
CHECK_SKIP=0 one new-2 -- -Dx=1
cat $R/faults.txt
for n in before-1 new-1 no-pqt no-slab before-2 new-2; do
  echo "== $n $(grep -h "Pause" $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep 'local\[' $R/$n.txt | head -1 | cut -c1-170; grep -h 'time by stage' $R/$n.txt | cut -c23-310; done
grep -h "missing or extra\|max |o" $R/new-2.txt | head -3
(cd $OUT && tar czf d.tgz d && rm -rf d)
