# session 15, call E (a fresh machine; calls A2 and B2 staged the JRE, this build and Spark's parts 00, 01, 03): after
# call C showed the cells reading their input for 6 s with the GPU idle and then all computing at once, the
# partitions are read on one executor-wide pool of reading threads, earliest task first (DirectCells.ReadPool).
# The 1M-token x 8-head job (d 128, causal, packed bf16), direct (default) against the routing shuffle
# (-Dflashspark.directCells=false), alternated, plus one direct run with a 16 GB young generation (-Xmn16g: eden
# reused instead of fresh pages); then the default path once more with its output checked on 16 sampled rows.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
R=$OUT/e; mkdir -p $R
routed=-Dflashspark.directCells=false
OUT=$R/runs WORKERS=0 SKIP_CHECK=1 \
  LOCAL_VARIANTS="default|$routed::default|default|$routed::default|-Xmn16g::default|--output-format bf16" \
  timeout 400 bash tools/gpu-host/run-cluster.sh 1m > $R/ab.txt 2>&1
OUT=$R/check WORKERS=0 LOCAL_VARIANTS=default timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/check.txt 2>&1
grep -h "time by stage" $R/ab.txt $R/check.txt | cut -c1-260
tail -3 $R/check.txt | cut -c1-250
grep "local\[" $R/ab.txt | cut -c1-200
(cd $OUT && tar czf e.tgz e && rm -rf e)
