# session 18, call C on one H100 (calls A and B staged the JRE, both builds and Spark's parts 00, 01; this call
# carried part 02). The 1M-token x 8-head job (d 128, causal, packed bf16) on 017f528 (app-before: session 17's
# head) against 33fd1b4 (app: output rows written in place from the cells' partials; vector chunks that do not
# compress stored uncompressed; the table opened with no schema job; blocks packed into slabs of one G1 region,
# never copied by young collections), alternated; then the new build with slabs off (-Dflashspark.slabs=false),
# with --output-format bf16, and on a table generated uncompressed (CODEC=uncompressed). Session 17's GC log: 11
# young pauses of 110-190 ms while the cells read, each copying ~2.3 GB of freshly packed blocks.
# Each run's page faults (/proc/vmstat), its log file and (some) GC logs; the second new-build run checked.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/c; mkdir -p $R
faults() { awk '$1 == "pgfault" { printf "%s", $2 }' /proc/vmstat; }
one() { # one NAME MODE [VAR=value...]: one run-cluster.sh call, its page faults counted
  local name=$1 mode=$2; shift 2; local f0=$(faults)
  env "$@" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} timeout 200 bash tools/gpu-host/run-cluster.sh $mode > $R/$name.txt 2>&1
  echo "$name: $(( ($(faults) - f0) / 1000 ))k page faults" >> $R/faults.txt; }
one before-1 1m APP=app-before LOCAL_VARIANTS=default
one after-1 1m LOCAL_VARIANTS=default
one before-2 1m APP=app-before LOCAL_VARIANTS=default
CHECK_SKIP=0 one after-2 1m LOCAL_VARIANTS="-Xlog:gc:file=$R/gc-after-2.log::default"
one after-noslab 1m LOCAL_VARIANTS="-Dflashspark.slabs=false -Xlog:gc:file=$R/gc-noslab.log::default"
one after-bf16 1m LOCAL_VARIANTS="--output-format bf16"
one unc-after-1 1m CODEC=uncompressed LOCAL_VARIANTS=default
one unc-before-1 1m CODEC=uncompressed APP=app-before LOCAL_VARIANTS=default
one unc-after-2 1m CODEC=uncompressed LOCAL_VARIANTS=default
cat $R/faults.txt
for n in before-1 after-1 before-2 after-2 after-noslab after-bf16 unc-after-1 unc-before-1 unc-after-2; do
  echo "== $n"; grep 'local\[' $R/$n.txt | head -1 | cut -c1-230; grep -h 'time by stage' $R/$n.txt | cut -c23-400; done
grep -h "missing or extra\|max |o" $R/after-2.txt | head -3
for g in $R/gc-*.log; do grep -h "Pause" $g | awk -v f=$(basename $g) '{x = $NF; sub("ms", "", x); s += x} END {print f ":", NR, "GC pauses,", s, "ms in all"}'; done
du -sh /tmp/fs/tokens-8x1048576 /tmp/fs/tokens-8x1048576-uncompressed 2>/dev/null
(cd $OUT && tar czf c.tgz c && rm -rf c)
# the host's memory copy bandwidth (System.arraycopy of 256 MB arrays, 1 and 16 threads; Bw.java here, compiled into .stage/bw)
for t in 1 16; do /opt/stage/jre/bin/java -Xmx12g -Xms12g -XX:+AlwaysPreTouch -cp .stage/bw Bw $t | tail -2; done
