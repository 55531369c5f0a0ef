# session 11, call 3 (nvidia-h200): the last Spark jar parts, then issue 7's 1M x 8-head job with this
# session's build (persistent kernel launch, round-robin tile order; packing writers reusing arrays),
# host memory touched first; default heap (-Xmx100g) against a 48 GB heap touched at JVM start, and bf16 output.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
OUT=$R/c3 WORKERS=0 LOCAL_VARIANTS="default|-Xms48g -Xmx48g -XX:+AlwaysPreTouch::|--output-format bf16" \
  timeout 560 bash tools/gpu-host/run-cluster.sh 1m > $R/c3.txt 2>&1
grep -h "time by stage" $R/c3.txt | cut -c1-300
cat $R/c3/table-1m.txt
