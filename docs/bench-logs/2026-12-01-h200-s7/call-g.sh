# session 7, call G (run inline): 16M tokens x 1 head, d128, causal, packed bf16, build 76f049b, default plan, bf16 output, checked
rm -rf /tmp/fs/tokens-8x1048576; df -h /tmp | tail -1
OUT=$OUT/g TOKENS=16777216 HEADS=1 WORKERS=0 CHECK_TIMEOUT=230 LOCAL_VARIANTS='--output-format bf16' timeout 590 \
  bash tools/gpu-host/run-cluster.sh 1m > $OUT/g16m.txt 2>&1
