# session 17, call C (calls A and B staged the JRE, both builds and Spark's parts): where the 1M job's compute stage
# goes (session 15's host: 16 cores at 55-68 % user and 25-35 % system time while the cells read, 0.9 GB/s in all).
# The 1M-token x 8-head job (d 128, causal, packed bf16) on 5d1ea09 (app-before) and on this session's start
# (d311464: counts and head dimension from the files, no job before the cells), alternated; the new build once under Flight Recorder with a GC log; once with
# the heap pre-touched on huge pages, once on huge pages alone, once with a 32 GB heap, once with 8 reading threads;
# each run's page faults (/proc/vmstat) and its log file (each cell's read and kernel times); the last run checked.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
echo "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled); perf: $(command -v perf || echo none); $(free -g | sed -n 2p)"
R=$OUT/c; mkdir -p $R
faults() { awk '$1 == "pgfault" || $1 == "pgmajfault" || $1 == "thp_fault_alloc" { printf "%s %s ", $1, $2 }' /proc/vmstat; }
one() { # one NAME MODE [VAR=value...]: one run-cluster.sh call, its page faults counted
  local name=$1 mode=$2; shift 2; local f0=$(faults)
  env "$@" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} timeout 200 bash tools/gpu-host/run-cluster.sh $mode > $R/$name.txt 2>&1
  echo "$name: before [$f0] after [$(faults)]" >> $R/faults.txt; }
one before-1 1m APP=app-before LOCAL_VARIANTS=default
one after-jfr 1m LOCAL_VARIANTS=default JVM_EXTRA="-XX:StartFlightRecording=filename=$R/after.jfr,settings=profile -Xlog:gc*:file=$R/gc-after.log"
one after-1 1m LOCAL_VARIANTS=default
one after-pretouch 1m LOCAL_VARIANTS="-XX:+AlwaysPreTouch -XX:+UseTransparentHugePages::default"
one after-thp 1m LOCAL_VARIANTS="-XX:+UseTransparentHugePages::default"
one after-heap32 1m LOCAL_VARIANTS=default HEAP=32g
one after-threads8 1m LOCAL_VARIANTS="-Dflashspark.directCells.threads=8::default"
one before-2 1m APP=app-before LOCAL_VARIANTS=default
CHECK_SKIP=0 one after-2 1m LOCAL_VARIANTS=default
ls -la $R/after.jfr; cat $R/faults.txt
for n in before-1 after-jfr after-1 after-pretouch after-thp after-heap32 after-threads8 before-2 after-2; do
  echo "== $n"; grep 'local\[' $R/$n.txt | cut -c1-250; grep -h 'time by stage' $R/$n.txt | cut -c23-330; done
grep -h "Pause" $R/gc-after.log | awk '{s += $NF + 0} END {print NR, "GC pauses,", s, "ms in all"}'
tail -3 $R/after-2.txt | cut -c1-220
mv $R/after.jfr $OUT/after.jfr 2>/dev/null
(cd $OUT && tar czf c.tgz c && rm -rf c)
