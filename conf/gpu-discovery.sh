#!/usr/bin/env bash
# Spark resource discovery script for GPUs (spark.worker.resource.gpu.discoveryScript, or
# spark.executor.resource.gpu.discoveryScript on YARN/Kubernetes): prints the GPUs this worker
# offers as Spark expects, e.g. {"name": "gpu", "addresses": ["0", "1"]}.
#
# FLASHSPARK_WORKER_GPUS=a,b,...  offer exactly these addresses. bin/flashspark-cluster sets it per
#                                 worker, so two workers on one host never both claim GPU 0.
# FLASHSPARK_GPU_ADDRESSES=uuid   offer GPU UUIDs (GPU-...) instead of ordinals, and MIG instances
#                                 (MIG-...) in place of a GPU that is split into them; the job
#                                 resolves either (a MIG instance through CUDA_VISIBLE_DEVICES).
# Otherwise: every GPU nvidia-smi lists, by ordinal. No GPU, no nvidia-smi: an empty list.
set -uo pipefail
emit() { # addresses on stdin, one per line
  python3 -c 'import json, sys; print(json.dumps({"name": "gpu", "addresses": [l.strip() for l in sys.stdin if l.strip()]}))'
}
if [[ -n "${FLASHSPARK_WORKER_GPUS:-}" ]]; then
  tr ',' '\n' <<< "$FLASHSPARK_WORKER_GPUS" | emit
elif ! command -v nvidia-smi > /dev/null 2>&1; then
  emit < /dev/null
elif [[ "${FLASHSPARK_GPU_ADDRESSES:-index}" == uuid ]]; then
  # a GPU line, then its MIG instances (if any) indented below it: MIG instances replace their GPU
  nvidia-smi -L | python3 -c '
import re, sys
out, gpu, migs = [], None, []
for line in sys.stdin:
    m = re.search(r"UUID: ((GPU|MIG)-[^)]+)\)", line)
    if not m:
        continue
    if m.group(2) == "GPU":
        out += migs or ([gpu] if gpu else [])
        gpu, migs = m.group(1), []
    else:
        migs.append(m.group(1))
out += migs or ([gpu] if gpu else [])
print("\n".join(out))' | emit
else
  nvidia-smi --query-gpu=index --format=csv,noheader | emit
fi
