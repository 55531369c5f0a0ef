# session 12, call F (nvidia-h200, after calls A and B staged the JRE, both apps and Spark parts 03, 00, 01):
# the last Spark part; then the 1M x 8-head job, session 11's HEAD (app-before, 20c63d2) against this build
# (app, 33d0884), alternated twice on a warmed host, then this build with bf16 output; every run with
# Spark's INFO log timestamped to the millisecond (where the JVM's time outside the score's clock goes);
# this build's runs checked against the float64 reference. Everything packed into one tarball.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/f; mkdir -p $R
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
sed 's/^rootLogger.level = warn/rootLogger.level = info/; s/%d{yyyy-MM-dd HH:mm:ss}/%d{HH:mm:ss.SSS}/' \
  /opt/stage/app/log4j2.properties > /tmp/timeline.properties
run() { # NAME APP CHECK VARIANT
  date +%H:%M:%S.%N > $R/start-$1.txt
  JVM_EXTRA="-Dlog4j2.configurationFile=/tmp/timeline.properties -Dflashspark.log.file=$R/timeline-$1.log" \
  APP=$2 OUT=$R/$1 SKIP_CHECK=$3 WORKERS=0 LOCAL_VARIANTS="$4" timeout 200 \
    bash tools/gpu-host/run-cluster.sh 1m > $R/$1.txt 2>&1
  date +%H:%M:%S.%N > $R/end-$1.txt
}
run before-1 app-before 1 default; run after-1 app 0 default
run before-2 app-before 1 default; run after-2 app 1 default
run after-bf16 app 0 "--output-format bf16"
for f in before-1 after-1 before-2 after-2 after-bf16; do
  echo "== $f"; grep -h "local\[\*\]\|missing\|max |o" $R/$f/table-1m.txt; grep -h "time by stage" $R/$f.txt | cut -c1-200
  grep -h "Running Spark version\|SparkContext is stopping\|Successfully stopped\|Shutdown hook called" $R/timeline-$f.log | cut -c1-60 | tr '\n' ' '
  echo; tail -1 $R/timeline-$f.log | cut -c1-100; cat $R/end-$f.txt
done
(cd $OUT && tar czf f.tgz f && rm -rf f)
