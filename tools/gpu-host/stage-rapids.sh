#!/usr/bin/env bash
# Here: the RAPIDS Accelerator jar (tools/fetch-rapids.sh) shrunk for the GPU host by
# ../shared/tools/pack-rapids.sh (the spark401 shim only, zstd --long: about 514 MB) in parts of
# RAPIDS_PART_MB (default 48) MiB, one part per folder .stage/rapids-NN (with SHA256SUMS; the zstd binary
# beside the small last part) so that each device call carries one folder: a call carries at most 64 MiB in
# all, the working tree included (6.5 MB in session 24, when 60 MiB parts no longer fit):
#   run(carry=[".stage/rapids-00"], command="bash tools/gpu-host/unpack.sh")   ... then -01, -02, ...
# unpack.sh keeps the parts in /opt/stage and unpacks /opt/stage/rapids.jar once every part SHA256SUMS
# names is there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
jar=$(bash "$root/tools/fetch-rapids.sh")
part=${RAPIDS_PART_MB:-48}
packed=$root/.stage/rapids-packed-${part}m
[ -f "$packed/SHA256SUMS" ] || bash "$root/../shared/tools/pack-rapids.sh" "$jar" "$packed" spark401 "$part"
rm -rf "$root"/.stage/rapids-[0-9]*
parts=("$packed"/rapids.jar.zst.*)
for p in "${parts[@]}"; do
  d=$root/.stage/rapids-${p##*.}; mkdir -p "$d"
  ln "$p" "$d/" 2>/dev/null || cp "$p" "$d/"
  cp "$packed/SHA256SUMS" "$d/"
done
cp "$packed/zstd" "$root/.stage/rapids-${parts[-1]##*.}/"
du -sh "$root"/.stage/rapids-[0-9]*
