# session 17, call C (calls A and B staged the JRE, both builds and Spark's parts): where the 1M job's compute stage
# goes. The 1M-token x 8-head job (d 128, causal, packed bf16) on 5d1ea09 (app-before) and on this session's start
# (0d7845f: counts from the footers), alternated; the new build once under Flight Recorder and a GC log, once with
# the heap pre-touched on huge pages, once with twice as many reading threads as cores; each run's page faults
# (/proc/vmstat) and its log file (each cell's read and kernel times); the last default run checked on 16 rows.
# Then the batch (64 x 65,536 tokens x 1 head, bf16 output), both builds alternated, the new one's last checked.
SPARK_PARTS=${SPARK_PARTS:-4} bash tools/gpu-host/unpack.sh | tail -1
echo "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled); perf: $(command -v perf || echo none); $(free -g | sed -n 2p)"
R=$OUT/c; mkdir -p $R
faults() { awk '$1 == "pgfault" || $1 == "pgmajfault" { printf "%s %s ", $1, $2 }' /proc/vmstat; }
one() { # one NAME MODE [VAR=value...]: one run-cluster.sh call, its page faults counted
  local name=$1 mode=$2; shift 2; local f0=$(faults)
  env "$@" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} timeout 200 bash tools/gpu-host/run-cluster.sh $mode > $R/$name.txt 2>&1
  echo "$name: before [$f0] after [$(faults)]" >> $R/faults.txt; }
one before-1 1m APP=app-before LOCAL_VARIANTS=default
one after-jfr 1m LOCAL_VARIANTS=default JVM_EXTRA="-XX:StartFlightRecording=filename=$R/after.jfr,settings=profile -Xlog:gc*:file=$R/gc-after.log"
one after-1 1m LOCAL_VARIANTS=default
one after-pretouch 1m LOCAL_VARIANTS="-XX:+AlwaysPreTouch -XX:+UseTransparentHugePages::default"
one after-threads32 1m LOCAL_VARIANTS="-Dflashspark.directCells.threads=32::default"
one before-2 1m APP=app-before LOCAL_VARIANTS=default
CHECK_SKIP=0 one after-2 1m LOCAL_VARIANTS=default
one batch-before-1 batch APP=app-before LOCAL_VARIANTS=default
one batch-after-1 batch LOCAL_VARIANTS=default
one batch-before-2 batch APP=app-before LOCAL_VARIANTS=default
CHECK_SKIP=0 one batch-after-2 batch LOCAL_VARIANTS=default
ls -la $R/after.jfr; cat $R/faults.txt
for n in before-1 after-jfr after-1 after-pretouch after-threads32 before-2 after-2 batch-before-1 batch-after-1 batch-before-2 batch-after-2; do
  echo "== $n"; grep 'local\[' $R/$n.txt | cut -c1-250; grep -h 'time by stage' $R/$n.txt | cut -c23-330; done
tail -3 $R/after-2.txt | cut -c1-220; tail -3 $R/batch-after-2.txt | cut -c1-220
mv $R/after.jfr $OUT/after.jfr 2>/dev/null
(cd $OUT && tar czf c.tgz c && rm -rf c)
