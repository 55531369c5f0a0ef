#!/usr/bin/env bash
# Here (with the JDK and Maven): collects what a GPU host without Java needs into .stage/app:
# the project's jars, gpu-udf's test classes, JCuda, and the JUnit console launcher.
# Build first:  mvn -q -DskipTests install && mvn -q -pl gpu-udf test-compile
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
app=$root/.stage/app
m2=${M2_REPO:-$HOME/.m2/repository}
rm -rf "$app" && mkdir -p "$app"
cp "$root"/gpu-udf/target/flashspark-gpu-udf-*.jar "$root"/kernels/target/flashspark-kernels-*.jar "$app/"
(cd "$root/gpu-udf/target/test-classes" && zip -q -r "$app/gpu-udf-tests.jar" .)
cp "$root"/spark-job/target/flashspark-job-*-SNAPSHOT.jar "$app/" 2>/dev/null || true
cp "$m2"/org/jcuda/jcuda/12.6.0/jcuda-12.6.0.jar "$app/"
# the command line's parser and the bench sweep's plots (Spark's jars have neither)
cp "$m2"/info/picocli/picocli/4.7.7/picocli-4.7.7.jar "$m2"/org/jfree/jfreechart/1.5.6/jfreechart-1.5.6.jar "$app/"
# the natives jar without the PTX compiler and NVRTC bindings (24 MB, unused: kernels are prebuilt)
tmp=$(mktemp -d); (cd "$tmp" && unzip -q "$m2"/org/jcuda/jcuda-natives/12.6.0/jcuda-natives-12.6.0-linux-x86_64.jar \
  && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* && zip -q -r "$app/jcuda-natives-linux-x86_64.jar" .); rm -rf "$tmp"
cp "$m2"/org/junit/platform/junit-platform-console-standalone/1.14.1/junit-platform-console-standalone-1.14.1.jar "$app/"
cp "$root"/tools/gpu-host/*.sh "$root"/tools/gpu-host/*.py "$root"/conf/jvm-options "$root"/conf/log4j2.properties "$app/"
du -sh "$app"
