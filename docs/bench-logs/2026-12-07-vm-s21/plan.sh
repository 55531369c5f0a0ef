# Session 21: the first 1M-row causal launch plan (512 blocks of 2048 rows) in a fresh JVM, after N warm-up plans of
# B blocks (PlanWarm2.java B N; "0 1": none), 5 JVMs each, interleaved. What LaunchPlan.warmUp(256, 2) does on a
# cell's compute thread while its blocks are read.
mkdir -p /tmp/pw && cp PlanWarm2.java /tmp/pw/ && cd /tmp/pw && javac -d . -cp /work/main/gpu-udf/target/classes PlanWarm2.java
for i in 1 2 3 4 5; do for w in "0 1" "64 1" "128 3" "256 2"; do echo "$w: $(java -cp .:/work/main/gpu-udf/target/classes io.flashspark.gpu.PlanWarm2 $w)"; done; done
