#!/usr/bin/env bash
# Session 22, call A: stages the JRE and Spark's part 02 (carried), then the kernel lab: the shipped build against
# the poly_exp2 variants (kernels/dev/variants.txt: every 8th, 4th, 2nd n8 tile of scores on the FMA pipe), each
# checked against the float64 reference before it is timed beside PyTorch SDPA (flash, cuDNN).
SPARK_PARTS=3 bash tools/gpu-host/unpack.sh | tail -2
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
OUT=$OUT/k VARIANTS="poly8 poly4 poly2" timeout 420 bash kernels/dev/run_on_gpu.sh all > /tmp/k.log 2>&1; echo "harness exit $?"
grep -E "FAIL|fail|error" /tmp/k.log | head -20
cat $OUT/k/variants.txt; grep -E "^(CHECKS|dt|bf16|fp16)" $OUT/k/results.txt
