#!/usr/bin/env bash
# JMH benchmarks of gpu-udf (CPU attention): tools/jmh.sh [JMH args, e.g. CpuAttentionBench -p d=64]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mvn -q -B install -DskipTests
mvn -q -B -pl gpu-udf test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/jmh.cp
exec java --add-modules jdk.incubator.vector -cp "gpu-udf/target/test-classes:gpu-udf/target/classes:$(cat gpu-udf/target/jmh.cp)" org.openjdk.jmh.Main "$@"
