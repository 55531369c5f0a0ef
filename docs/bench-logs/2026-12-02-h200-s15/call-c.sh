# session 15, call C (nvidia-h200; calls A and B staged the JRE, this build and Spark's parts 00, 01, 03): the 1M-token
# x 8-head job (d 128, causal, packed bf16) with its cells reading their input partitions themselves (the default
# now) against the routing shuffle (-Dflashspark.directCells=false), same build, same input, alternated; then the
# default path once more with its output checked (one more variant: 4 reading threads per task instead of 2;
# and the default with --output-format bf16) against the float64 reference on 16 sampled rows.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
R=$OUT/c; mkdir -p $R
routed=-Dflashspark.directCells=false
OUT=$R/runs WORKERS=0 SKIP_CHECK=1 \
  LOCAL_VARIANTS="$routed::default|default|$routed::default|default|-Dflashspark.directCells.threads=4::default|--output-format bf16" \
  timeout 420 bash tools/gpu-host/run-cluster.sh 1m > $R/ab.txt 2>&1
OUT=$R/check WORKERS=0 LOCAL_VARIANTS=default timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/check.txt 2>&1
grep -h "time by stage" $R/ab.txt $R/check.txt | cut -c1-260
tail -3 $R/check.txt | cut -c1-250
grep "local\[" $R/ab.txt | cut -c1-200
(cd $OUT && tar czf c.tgz c && rm -rf c)
