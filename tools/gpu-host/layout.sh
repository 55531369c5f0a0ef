# Sourced by run-cluster.sh and run-rapids.sh (with root and stage set): the layout bin/flashspark and
# bin/flashspark-cluster expect from a build, made of what unpack.sh staged: Spark's and the app's jars
# in spark-job/target/lib, the job jar in spark-job/target as itself and as the cluster jar (executors
# find the rest in lib). APP=app-before takes an earlier build staged beside the current one.
lib=$root/spark-job/target/lib; rm -rf "$lib"; mkdir -p "$lib"
ln -s "$stage"/jars/* "$lib/"
app=$stage/${APP:-app}
for j in "$app"/*.jar; do
  case $(basename "$j") in flashspark-job-*|*console-standalone*|gpu-udf-tests*) ;; *) ln -sf "$j" "$lib/" ;; esac
done
job_jar=$(ls "$app"/flashspark-job-*.jar | head -n 1)
rm -f "$root"/spark-job/target/flashspark-job-*.jar
cp "$job_jar" "$root/spark-job/target/"
cp "$job_jar" "$root/spark-job/target/$(basename "${job_jar%.jar}")-cluster.jar"
