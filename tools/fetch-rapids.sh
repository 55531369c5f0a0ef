#!/usr/bin/env bash
# fetch-rapids.sh: downloads the RAPIDS Accelerator jar (com.nvidia:rapids-4-spark_2.13, about 1 GB)
# from Maven Central into the local Maven repository, where the rapids profile looks for it
# (-Drapids.jar=PATH points elsewhere), and checks it against Central's SHA-1. Its published pom names
# a parent that Central does not serve, so Maven itself cannot resolve it; the jar bundles what it
# needs. Prints the jar's path.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<rapids.version>\(.*\)</rapids.version>.*:\1:p' pom.xml)
name="rapids-4-spark_2.13-$version.jar"
url="https://repo.maven.apache.org/maven2/com/nvidia/rapids-4-spark_2.13/$version/$name"
dir="${MAVEN_REPO:-$HOME/.m2/repository}/com/nvidia/rapids-4-spark_2.13/$version"
mkdir -p "$dir"
want=$(curl -sSf --retry 3 "$url.sha1" | cut -c1-40)
if [ ! -s "$dir/$name" ] || [ "$(sha1sum < "$dir/$name" | cut -c1-40)" != "$want" ]; then
  echo "fetch-rapids.sh: downloading $url (about 1 GB)" >&2
  curl -sSf --retry 3 -o "$dir/$name.part" "$url"
  got=$(sha1sum < "$dir/$name.part" | cut -c1-40)
  if [ "$got" != "$want" ]; then
    echo "fetch-rapids.sh: SHA-1 $got of the download is not Central's $want" >&2
    exit 1
  fi
  mv "$dir/$name.part" "$dir/$name"
fi
echo "$dir/$name"
