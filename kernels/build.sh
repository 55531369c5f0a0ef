#!/usr/bin/env bash
# Build all flashspark CUDA kernels into ONE fatbin: OUTDIR/flashspark.fatbin
#   cubins for sm_80 and sm_90a, PTX for compute_90 (JIT for later GPUs).
# Usage: kernels/build.sh OUTDIR [extra nvcc flags...]
# Exit 0 without building if nvcc is absent; non-zero on compile errors.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [nvcc flags]" >&2
  exit 2
fi
OUTDIR=$1
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NVCC=${NVCC:-nvcc}   # nvcc from PATH (or an explicit NVCC=/path/to/nvcc)
if ! command -v "$NVCC" >/dev/null 2>&1; then
  echo "flashspark: nvcc not found, GPU kernels not built" >&2
  exit 0
fi
mkdir -p "$OUTDIR"
"$NVCC" -fatbin --threads 0 -O3 -std=c++17 \
  -gencode=arch=compute_80,code=sm_80 \
  -gencode=arch=compute_90a,code=sm_90a \
  -gencode=arch=compute_90,code=compute_90 \
  "$@" \
  -o "$OUTDIR/flashspark.fatbin.tmp" "$HERE/src/flashspark_all.cu"
mv "$OUTDIR/flashspark.fatbin.tmp" "$OUTDIR/flashspark.fatbin"
# the launch configuration, from the same constants the kernels were compiled with (fsk_config.h)
python3 "$HERE/src/gen_properties.py" "$OUTDIR/kernels.properties"
echo "flashspark: built $OUTDIR/flashspark.fatbin" >&2
