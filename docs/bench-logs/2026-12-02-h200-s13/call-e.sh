# session 13, call E (nvidia-h200, after calls A and B staged the JRE, both builds and Spark's parts): the last
# Spark part; the GPU JUnit tests of this build (GpuBackendTest now also launches on reserved buffers); then the
# 1M x 8-head job alternated: before = call C's build (app-before: cells allocate their stream, pinned ring
# and device buffers as their launch begins), after = this build (each cell task readies them while it reads
# its blocks, GpuBackend.prepare); every run with Spark's INFO log timestamped to the millisecond. One tarball.
SPARK_PARTS=${SPARK_PARTS:-4} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/e; mkdir -p $R
OUT=$R/tests bash tools/gpu-host/run.sh tests > $R/tests.txt 2>&1; grep -E "tests (successful|failed|skipped)" $R/tests.txt
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
sed 's/^rootLogger.level = warn/rootLogger.level = info/; s/%d{yyyy-MM-dd HH:mm:ss}/%d{HH:mm:ss.SSS}/' \
  /opt/stage/app/log4j2.properties > /tmp/timeline.properties
run() { # NAME APP CHECK
  JVM_EXTRA="-Dlog4j2.configurationFile=/tmp/timeline.properties -Dflashspark.log.file=$R/timeline-$1.log" \
    APP=$2 OUT=$R/$1 SKIP_CHECK=$3 WORKERS=0 LOCAL_VARIANTS=default timeout 200 \
    bash tools/gpu-host/run-cluster.sh 1m > $R/$1.txt 2>&1
}
run before-1 app-before 1; run after-1 app 0; run before-2 app-before 1; run after-2 app 1
for f in before-1 after-1 before-2 after-2; do
  echo "== $f"; grep -h "local\[\*\]\|missing\|max |o" $R/$f/table-1m.txt | cut -c1-170
  grep -h "time by stage" $R/$f.txt | head -1 | cut -c1-330
  grep -h "CellTask" $R/timeline-$f.log | sed 's/.*cells-task-[0-9]* //' | cut -c1-150 | sort | head -9
done
(cd $OUT && tar czf e.tgz e && rm -rf e)
