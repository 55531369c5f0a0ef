#!/usr/bin/env bash
# session 20, call C (calls A and B staged the JRE, Spark's parts 00 and 01 and the build; this call carries
# part 02): where the first cell's 1.5 s of reading and the 1-1.3 s before its first partial go. The build
# logs each task's reads (queue wait, run time, share on a CPU) and each cell's first launch by phase.
# Default runs over the class data sharing archive (CDS=1), one without transparent huge pages, one with no
# metadata-triggered marking cycle and no mixed collections (gcquiet), one bf16 output,
# one printing the JIT's compilations, one under Flight Recorder (native method samples: snappy's decompression is native).
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/c; mkdir -p $R
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  echo "== $name: $(grep -h 'local\[' $R/$name.txt | head -1 | grep -o 'score *[0-9.]*s.*busy: gpu0 [0-9.]*s')"; }
one dump -- -Dx=1
for i in 1 2 3; do CHECK_SKIP=$([ $i = 3 ] && echo 0 || echo 1) one new-$i -- -Dx=1; done
one nothp -- -XX:-UseTransparentHugePages
one bf16 -- -Dx=1::--output-format bf16
one gcquiet -- -XX:MetaspaceSize=1g -XX:G1HeapWastePercent=30
one jit -- -XX:+PrintCompilation
one jfr CDS=0 -- -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -XX:StartFlightRecording=settings=profile,filename=$R/jfr.jfr
for n in new-1 new-2 new-3 nothp gcquiet bf16 jit jfr; do
  echo "== $n $(grep -h 'Pause' $R/gc-$n.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"; tar xzf $R/$n/logs-1m.tgz -C $R/$n spark-1m-local-0.log score-1m-local-0.log 2>/dev/null
  grep -h 'time by stage' $R/$n/score-1m-local-0.log | cut -c23-330
  grep -h 'read(s)\|first call\|read in' $R/$n/spark-1m-local-0.log | cut -c12-23,42-400 > $R/$n-lines.txt; done
head -c 3000 $R/new-1-lines.txt
grep -h "missing or extra\|max |o" $R/new-3.txt | head -3
(cd $OUT && tar czf c.tgz c && rm -rf c)
