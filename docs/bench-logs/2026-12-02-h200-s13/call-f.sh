# session 13, call F (nvidia-h200, right after call E on the same warm machine): the 16M-token document with this
# build, checked: 16,777,216 tokens x 1 head, d 128, causal, packed bf16, bf16 output, default plan; the output
# against the float64 reference on 16 sampled rows (call D's check was cut off by its 170 s limit). The summary
# goes beside the run's folder (call D wrote it inside, where run-cluster.sh's clean-up deleted it).
R=$OUT/f; mkdir -p $R
OUT=$R TOKENS=16777216 HEADS=1 SCORE_ARGS="--output-format bf16" CHECK_TIMEOUT=330 WORKERS=0 LOCAL_VARIANTS=default \
  timeout 590 bash tools/gpu-host/run-cluster.sh 1m > $OUT/f.txt 2>&1
tail -6 $OUT/f.txt | cut -c1-300
(cd $OUT && tar czf f.tgz f f.txt && rm -rf f f.txt)
