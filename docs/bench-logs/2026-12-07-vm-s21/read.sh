# Session 21: the reading path alone (../2026-12-07-vm-s19/ReadAlloc.java: one thread reading the 206 MB packed table /tmp/t256 as the cells
# do, 6 passes), vectors through parquet-mr's column readers (-Dflashspark.plainPages=false) against their own page
# reader (default), alternated 3x, one JVM per run. Build: main at the commit named in benchmarks.md.
set -e
mkdir -p /tmp/ra && cp ../2026-12-07-vm-s19/ReadAlloc.java /tmp/ra/ && cd /tmp/ra
(cd /work/main && mvn -B -o -q dependency:build-classpath -pl spark-job -Dmdep.outputFile=/tmp/cp.txt > /dev/null)
CP=.:/work/main/spark-job/target/classes:/work/main/gpu-udf/target/classes:$(cat /tmp/cp.txt)
javac -d . -cp $CP ReadAlloc.java
OPENS="--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED"
for i in 1 2 3; do
  for plain in false true; do
    echo "== plainPages=$plain, run $i"
    java -Xmx8g $OPENS -Dflashspark.plainPages=$plain -cp $CP io.flashspark.job.ReadAlloc /tmp/t256 2>&1 | grep "rows,"
  done
done
