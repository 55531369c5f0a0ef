# session 12, call H (nvidia-h200, after calls A and B staged the JRE, both builds and Spark's jars): the 1M x
# 8-head job, 33d0884 (app-before: one pass, counting beside the head-dimension read) against this build (app:
# the doc id told from the batches' dictionary ids instead of decoded per row), alternated twice;
# the second run of this build checked against the float64 reference. One tarball.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/h; mkdir -p $R
# (no memory touch: the device budget left was 317 s)
run() { APP=$2 OUT=$R/$1 SKIP_CHECK=$3 WORKERS=0 LOCAL_VARIANTS=default timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/$1.txt 2>&1; }
run before-1 app-before 1; run after-1 app 1; run before-2 app-before 1; run after-2 app 0
for f in before-1 after-1 before-2 after-2; do
  echo "== $f"; grep -h "local\[\*\]\|missing\|max |o" $R/$f/table-1m.txt | cut -c1-150; grep -h "time by stage" $R/$f.txt | cut -c1-150
done
(cd $OUT && tar czf h.tgz h && rm -rf h)
