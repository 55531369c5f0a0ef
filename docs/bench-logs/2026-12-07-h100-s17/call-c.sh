# session 17, call C on one H100 (calls A and B staged the JRE, both builds and Spark's parts 00, 01; this call
# carried part 02): where the 1M job's compute stage
# goes (session 15's host: 16 cores at 55-68 % user and 25-35 % system time while the cells read, 0.9 GB/s in all).
# The 1M-token x 8-head job (d 128, causal, packed bf16) on 5d1ea09 (app-before) and on this session's start
# (this session's HEAD: counts and head dimension from the files, no job before the cells), alternated; the new build once under Flight Recorder with a GC log; once with
# the heap pre-touched on huge pages, once with a 64 GB young generation (blocks that die before a collection are
# never copied; on this VM a reading loop spent a quarter of its time in G1's pauses);
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
one after-xmn64 1m LOCAL_VARIANTS="-Xmn64g -Xlog:gc:file=$R/gc-xmn64.log::default"
one before-2 1m APP=app-before LOCAL_VARIANTS=default
CHECK_SKIP=0 one after-2 1m LOCAL_VARIANTS=default
ls -la $R/after.jfr; cat $R/faults.txt
for n in before-1 after-jfr after-1 after-pretouch after-xmn64 before-2 after-2; do
  echo "== $n"; grep 'local\[' $R/$n.txt | cut -c1-250; grep -h 'time by stage' $R/$n.txt | cut -c23-330; done
for g in $R/gc-after.log $R/gc-xmn64.log; do grep -h "gc.*Pause" $g | awk -v f=$(basename $g) '{x = $NF; sub("ms", "", x); s += x} END {print f ":", NR, "GC pauses,", s, "ms in all"}'; done
tail -3 $R/after-2.txt | cut -c1-220
mv $R/after.jfr $OUT/after.jfr 2>/dev/null
(cd $OUT && tar czf c.tgz c && rm -rf c)
