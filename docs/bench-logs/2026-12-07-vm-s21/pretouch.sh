# Session 21: is the first (cold) pass of the reading path slow because fresh heap is faulted in? Session 19's
# ReadAlloc.java (page reader, default) with an 8 GB heap committed at start (-Xms8g), with and without
# -XX:+AlwaysPreTouch (the JVM touches the whole heap before main), alternated 3x.
set -e
mkdir -p /tmp/ra && cp ../2026-12-07-vm-s19/ReadAlloc.java /tmp/ra/ && cd /tmp/ra
CP=.:/work/main/spark-job/target/classes:/work/main/gpu-udf/target/classes:$(cat /tmp/cp.txt)
javac -d . -cp $CP ReadAlloc.java
OPENS="--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED"
for i in 1 2 3; do
  for touch in -AlwaysPreTouch +AlwaysPreTouch; do
    echo "== -XX:$touch, run $i"
    /usr/bin/time -f "process: %e s wall, %S s system, %F major / %R minor page faults" \
      java -Xms8g -Xmx8g -XX:$touch $OPENS -cp $CP io.flashspark.job.ReadAlloc /tmp/t256 2>&1 | grep "rows,\|process:" | sed -n '1,3p;$p'
  done
done
