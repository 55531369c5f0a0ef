# session 7, call E: where stage 1 loses its threads: GC log + Spark event log per run; G1 vs Parallel GC, fragment cache in memory vs disk
bash tools/gpu-host/unpack.sh | tail -1
export WORKERS=0 SKIP_CHECK=1
R=$OUT; rm -rf /tmp/ev /tmp/gc-*.log; mkdir -p /tmp/ev
export JVM_EXTRA="-Xlog:gc*:file=/tmp/gc-%p.log -Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file:/tmp/ev"
OUT=$R/e LOCAL_VARIANTS=${VARIANTS:-'default|-XX:+UseParallelGC::|-Dflashspark.fragmentCache=disk::|-XX:+UseParallelGC::--write-tasks 0|--write-tasks 0'} \
  bash tools/gpu-host/run-cluster.sh 1m > $R/e.txt 2>&1
for f in /tmp/gc-*.log; do echo "$f: $(grep -c 'Pause' $f) pauses, $(grep -o 'Pause[^)]*) [0-9.]*M->[0-9.]*M([0-9.]*M) [0-9.]*ms' $f | awk '{s+=$NF+0} END {print s}') ms"; done
tar czf $R/gc-ev.tgz /tmp/gc-*.log /tmp/ev 2>/dev/null
grep -h "time by stage" $R/e.txt | cut -c1-300
cat $R/e/table-1m.txt
