# session 18, call D on a fresh H100 (calls A and B staged the JRE, Spark's parts 00 and 01 and both builds; this
# call carried part 02): 017f528 (app-before) against 33fd1b4 (app) alternated, 33fd1b4 with its slabs off
# (-Dflashspark.slabs=false), and with a fixed 4 GB young generation; then the same on a table written with 16 MB
# row groups (ROW_GROUP=16777216; Spark's default is 128 MB: each reading thread holds its row group's column
# chunks while it decodes them, about 2 GB in all on 16 threads, which every young collection copies). GC logs and
# page faults per run; the last new-build run on the default table checked.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/d; mkdir -p $R
faults() { awk '$1 == "pgfault" { printf "%s", $2 }' /proc/vmstat; }
one() { # one NAME [VAR=value...] -- JVM options
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift; local f0=$(faults)
  env "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$* -Xlog:gc:file=$R/gc-$name.log::default" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  echo "$name: $(( ($(faults) - f0) / 1000 ))k page faults" >> $R/faults.txt; }
one before-1 APP=app-before -- -Dx=1
one slab-1 -- -Dx=1
one noslab-1 -- -Dflashspark.slabs=false
one slab-xmn4 -- -Xmn4g
one before-2 APP=app-before -- -Dx=1
one noslab-2 -- -Dflashspark.slabs=false
CHECK_SKIP=0 one slab-2 -- -Dx=1
one rg16-slab ROW_GROUP=16777216 -- -Dx=1
one rg16-before ROW_GROUP=16777216 APP=app-before -- -Dx=1
one rg16-noslab ROW_GROUP=16777216 -- -Dflashspark.slabs=false
one rg16-slab-2 ROW_GROUP=16777216 -- -Dx=1
cat $R/faults.txt
for n in before-1 slab-1 noslab-1 slab-xmn4 before-2 noslab-2 slab-2 rg16-slab rg16-before rg16-noslab rg16-slab-2; do
  echo "== $n $(grep -h "Pause" $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep 'local\[' $R/$n.txt | head -1 | cut -c1-170; grep -h 'time by stage' $R/$n.txt | cut -c23-310; done
grep -h "missing or extra\|max |o" $R/slab-2.txt | head -3
(cd $OUT && tar czf d.tgz d && rm -rf d)
