#!/usr/bin/env bash
# On the GPU host: copies whatever parts of the staged runtime this call carried to /opt/stage
# (which outlives the call while the machine stays warm) and unpacks them once all are there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=/opt/stage; mkdir -p "$stage/parts"
[ -f "$root/.stage/jre.tar.xz" ] && cp "$root/.stage/jre.tar.xz" "$stage/parts/"
for p in "$root"/.stage/spark/jars.tar.xz.* "$root"/.stage/spark/SHA256SUMS; do [ -f "$p" ] && cp "$p" "$stage/parts/"; done
[ -d "$root/.stage/app" ] && { rm -rf "$stage/app"; cp -r "$root/.stage/app" "$stage/app"; }
# an earlier build's jars (stage.sh BEFORE=commit), to measure before and after in one run
[ -d "$root/.stage/app-before" ] && { rm -rf "$stage/app-before"; cp -r "$root/.stage/app-before" "$stage/app-before"; }
if [ ! -x "$stage/jre/bin/java" ] && [ -f "$stage/parts/jre.tar.xz" ]; then tar -C "$stage" -xJf "$stage/parts/jre.tar.xz"; fi
n=$(ls "$stage"/parts/jars.tar.xz.* 2>/dev/null | wc -l || true)
if [ ! -d "$stage/jars" ] && [ "$n" -ge "${SPARK_PARTS:-3}" ]; then
  # every part whole (a part cut short in transfer would unpack into a broken jar folder)
  (cd "$stage/parts" && sha256sum -c SHA256SUMS) || { echo "spark jar parts damaged" >&2; exit 1; }
  rm -rf "$stage/jars.tmp" && mkdir -p "$stage/jars.tmp"
  cat "$stage"/parts/jars.tar.xz.* | xz -d | tar xf - -C "$stage/jars.tmp" && mv "$stage/jars.tmp/jars" "$stage/jars"
fi
# the RAPIDS Accelerator (stage-rapids.sh: zstd parts in .stage/rapids-NN, one per call); unpacked into
# /opt/stage/rapids.jar once every part its SHA256SUMS names is there and whole
for d in "$root"/.stage/rapids-[0-9]*; do [ -d "$d" ] && mkdir -p "$stage/rapids-parts" && cp "$d"/* "$stage/rapids-parts/"; done
n=$(ls "$stage"/rapids-parts/rapids.jar.zst.* 2>/dev/null | wc -l || true) # none yet: not a failure
want=$(cat "$stage/rapids-parts/SHA256SUMS" 2>/dev/null | grep -c 'rapids.jar.zst' || true)
if [ ! -f "$stage/rapids.jar" ] && [ "$want" -gt 0 ] && [ "$n" -ge "$want" ]; then
  (cd "$stage/rapids-parts" && sha256sum -c --quiet SHA256SUMS) || { echo "RAPIDS parts damaged" >&2; exit 1; }
  cat "$stage"/rapids-parts/rapids.jar.zst.* | "$stage/rapids-parts/zstd" -d --long=27 -q -o "$stage/rapids.jar.tmp" \
    && mv "$stage/rapids.jar.tmp" "$stage/rapids.jar" && rm -f "$stage"/rapids-parts/rapids.jar.zst.*
fi
echo "rapids: $n of $want part(s) here; $(ls -la "$stage/rapids.jar" 2>/dev/null || echo 'no jar yet')"
ls "$stage"; echo "spark jars: $(ls "$stage/jars" 2>/dev/null | wc -l)"
