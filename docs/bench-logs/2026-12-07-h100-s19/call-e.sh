#!/usr/bin/env bash
# session 19, call E (calls A and B staged the JRE, Spark's parts 00 and 01 and the build; this call carries part 02):
# the build of the commit that adds this script, over its class data sharing archive (CDS=1; a first score dumps
# it): the warm-up on 1 thread (default) against 4 (-Dflashspark.warmUp.threads=4), with and without
# -XX:MetaspaceSize=256m (no "Metadata GC Threshold" collection and the mixed collections after it), alternated;
# then one run under Flight Recorder (no archive) with exact sample positions, for the reading threads' profile.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/e; mkdir -p $R
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1; }
one dump -- -Dx=1
for i in 1 2; do
  one w1-$i -- -Dx=1
  one w4-$i -- -Dflashspark.warmUp.threads=4
  one meta-$i -- -XX:MetaspaceSize=256m
  CHECK_SKIP=$([ $i = 2 ] && echo 0 || echo 1) one w4meta-$i -- -Dflashspark.warmUp.threads=4 -XX:MetaspaceSize=256m
done
one jfr CDS=0 -- -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -XX:StartFlightRecording=settings=profile,filename=$R/jfr.jfr
for n in dump w1-1 w4-1 meta-1 w4meta-1 w1-2 w4-2 meta-2 w4meta-2 jfr; do
  echo "== $n $(grep -h "Pause" $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
  grep 'local\[' $R/$n.txt | head -1 | cut -c1-170; grep -h 'time by stage' $R/$n.txt | cut -c23-310; done
grep -h "missing or extra\|max |o" $R/w4meta-2.txt | head -3
(cd $OUT && tar czf e.tgz e && rm -rf e)
