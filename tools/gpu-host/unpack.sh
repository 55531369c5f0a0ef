#!/usr/bin/env bash
# On the GPU host: copies whatever parts of the staged runtime this call carried to /opt/stage
# (which outlives the call while the machine stays warm) and unpacks them once all are there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=/opt/stage; mkdir -p "$stage/parts"
[ -f "$root/.stage/jre.tar.xz" ] && cp "$root/.stage/jre.tar.xz" "$stage/parts/"
for p in "$root"/.stage/spark/jars.tar.xz.*; do [ -f "$p" ] && cp "$p" "$stage/parts/"; done
[ -d "$root/.stage/app" ] && { rm -rf "$stage/app"; cp -r "$root/.stage/app" "$stage/app"; }
if [ ! -x "$stage/jre/bin/java" ] && [ -f "$stage/parts/jre.tar.xz" ]; then tar -C "$stage" -xJf "$stage/parts/jre.tar.xz"; fi
n=$(ls "$stage"/parts/jars.tar.xz.* 2>/dev/null | wc -l)
if [ ! -d "$stage/jars" ] && [ "$n" -ge "${SPARK_PARTS:-3}" ]; then
  cat "$stage"/parts/jars.tar.xz.* | xz -d | tar xf - -C "$stage"
fi
ls "$stage"; echo "spark jars: $(ls "$stage/jars" 2>/dev/null | wc -l)"
