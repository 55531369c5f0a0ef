# session 12, call E (nvidia-h200, after calls A and B staged the JRE, the apps and Spark parts 03, 00, 01):
# the last Spark part; then the 1M x 8-head job, session 11's HEAD (app-before, 20c63d2) against this build
# (app: one pass, counting beside the head-dimension read and the GPU check), alternated twice on a warmed
# host, with Spark's INFO log timestamped to the millisecond (JVM start to exit: where the time outside the
# score's clock goes); then this build once more under Flight Recorder (driver and task threads).
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
cat > /tmp/timeline.properties <<'P'
status = error
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:timeline.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n
logger.parquet.name = org.apache.parquet
logger.parquet.level = warn
P
for round in 1 2; do
  for app in app-before app; do
    check=1; [ $app = app ] && [ $round = 1 ] && check=0
    date +%H:%M:%S.%N > $R/start-$app-$round.txt
    JVM_EXTRA="-Dlog4j2.configurationFile=/tmp/timeline.properties -Dtimeline.file=$R/timeline-$app-$round.log" \
    APP=$app OUT=$R/$app-$round SKIP_CHECK=$check WORKERS=0 LOCAL_VARIANTS=default timeout 200 \
      bash tools/gpu-host/run-cluster.sh 1m > $R/$app-$round.txt 2>&1
    date +%H:%M:%S.%N > $R/end-$app-$round.txt
  done
done
JVM_EXTRA="-XX:StartFlightRecording=filename=$R/app.jfr,settings=profile" APP=app OUT=$R/app-jfr SKIP_CHECK=1 \
  WORKERS=0 LOCAL_VARIANTS=default timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/app-jfr.txt 2>&1
for f in app-before-1 app-1 app-before-2 app-2 app-jfr; do
  echo "== $f"; grep -h "local\[\*\]\|missing\|max |o" $R/$f/table-1m.txt; grep -h "time by stage" $R/$f.txt | cut -c1-230
done
rm -rf $R/*/logs-1m.tgz.unused; ls -la $R/app.jfr
