# Session 21: the first 1M-row causal launch plan (512 blocks of 2048 rows) in a fresh JVM, after N warm-up plans of
# B blocks (PlanWarm2 B N, session 19's PlanWarm.java with a count of warm-up plans; "0 1": none), 5 JVMs each, interleaved. What LaunchPlan.warmUp(256, 2) does on a
# cell's compute thread while its blocks are read.
mkdir -p /tmp/pw && sed 's/public class PlanWarm {/public class PlanWarm2 {/; s/    if (warm > 0) plan(warm);/    int times = a.length > 1 ? Integer.parseInt(a[1]) : 1;\n    for (int i = 0; warm > 0 \&\& i < times; i++) plan(warm);/' \
  ../2026-12-07-vm-s19/PlanWarm.java > /tmp/pw/PlanWarm2.java && cd /tmp/pw && javac -d . -cp /work/main/gpu-udf/target/classes PlanWarm2.java
for i in 1 2 3 4 5; do for w in "0 1" "64 1" "128 3" "256 2"; do echo "$w: $(java -cp .:/work/main/gpu-udf/target/classes io.flashspark.gpu.PlanWarm2 $w)"; done; done
