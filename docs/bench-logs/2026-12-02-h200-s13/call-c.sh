# session 13, call C (nvidia-h200, after calls A and B staged the JRE, the app and Spark's parts): the last
# Spark part; then the 1M x 8-head job twice with the cells' timeline: Spark's INFO log with ms timestamps,
# CellTask's per-task lines (routed fragments read, blocks assembled, first and last partial) and the GPU
# backend's temporary per-call lines (-Dflashspark.tempTimeline: LaunchPlan, K/V staging, chunk launches).
SPARK_PARTS=${SPARK_PARTS:-4} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/c; mkdir -p $R
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
sed 's/^rootLogger.level = warn/rootLogger.level = info/; s/%d{yyyy-MM-dd HH:mm:ss}/%d{HH:mm:ss.SSS}/' \
  /opt/stage/app/log4j2.properties > /tmp/timeline.properties
for n in 1 2; do
  JVM_EXTRA="-Dflashspark.tempTimeline=true -Dlog4j2.configurationFile=/tmp/timeline.properties -Dflashspark.log.file=$R/timeline-$n.log" \
    OUT=$R/run-$n SKIP_CHECK=$((n - 1)) WORKERS=0 LOCAL_VARIANTS=default timeout 250 \
    bash tools/gpu-host/run-cluster.sh 1m > $R/run-$n.txt 2>&1
  tail -3 $R/run-$n.txt | cut -c1-200
  grep -h "time by stage" $R/run-$n.txt | cut -c1-330
  grep -h "CellTask" $R/timeline-$n.log | cut -c1-250
done
(cd $OUT && tar czf c.tgz c && rm -rf c)
