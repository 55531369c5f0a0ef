# session 13, call D (nvidia-h200, right after call C on the same warm machine): the longest document with this
# build (one pass, no fragment cache): 16,777,216 tokens x 1 head, d 128, causal, packed bf16, bf16 output,
# default plan; output checked against the float64 reference on sampled rows. One tarball.
R=$OUT/g; mkdir -p $R
OUT=$R TOKENS=16777216 HEADS=1 SCORE_ARGS="--output-format bf16" CHECK_TIMEOUT=170 WORKERS=0 LOCAL_VARIANTS=default \
  timeout 580 bash tools/gpu-host/run-cluster.sh 1m > $R/g.txt 2>&1
tail -8 $R/g.txt | cut -c1-300
(cd $OUT && tar czf g.tgz g && rm -rf g)
