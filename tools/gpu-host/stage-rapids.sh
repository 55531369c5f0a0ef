#!/usr/bin/env bash
# Here: the RAPIDS Accelerator jar (tools/fetch-rapids.sh) shrunk for the GPU host by
# ../shared/tools/pack-rapids.sh (the spark401 shim only, zstd --long: nine parts of 60 MiB), one part
# per folder .stage/rapids-NN (with SHA256SUMS; the zstd binary beside the small last part) so that
# each device call carries one folder (a call carries at most 64 MiB in all):
#   run(carry=[".stage/rapids-00"], command="bash tools/gpu-host/unpack.sh")   ... then -01, ..., -08
# unpack.sh keeps the parts in /opt/stage and unpacks /opt/stage/rapids.jar once all are there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
jar=$(bash "$root/tools/fetch-rapids.sh")
packed=$root/.stage/rapids
[ -f "$packed/SHA256SUMS" ] || bash "$root/../shared/tools/pack-rapids.sh" "$jar" "$packed"
rm -rf "$root"/.stage/rapids-[0-9]*
parts=("$packed"/rapids.jar.zst.*)
for p in "${parts[@]}"; do
  d=$root/.stage/rapids-${p##*.}; mkdir -p "$d"
  ln "$p" "$d/" 2>/dev/null || cp "$p" "$d/"
  cp "$packed/SHA256SUMS" "$d/"
done
cp "$packed/zstd" "$root/.stage/rapids-${parts[-1]##*.}/"
du -sh "$root"/.stage/rapids-[0-9]*
