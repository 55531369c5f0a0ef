#!/usr/bin/env bash
# Session 22, call C (session 21's call-f.sh, prepared there but never run, with APP settable and a Flight Recorder run
# added; calls A and B staged the JRE, Spark's parts 02 and 00 and .stage/app = 6fc4226's jars;
# this call carries part 01): the 1M x 8-head job with the default output
# (array<float>) and with --output-format bf16, two runs each after the class data sharing dump, one of each
# checked against the float64 reference. Each run's summary, read and first-call lines go to $OUT/f.txt as it ends.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
R=/tmp/f; rm -rf $R; mkdir -p $R; S=$OUT/f.txt
one() { # one NAME [VAR=value...] -- JVM options [:: score options]
  local name=$1; shift; local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local jvm="$*" args=default; [[ $jvm == *::* ]] && { args=${jvm#*::}; jvm=${jvm%%::*}; }
  env CDS=1 APP=${APP:-app} "${envs[@]}" OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="$jvm -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  tar xzf $R/$name/logs-1m.tgz -C $R/$name spark-1m-local-0.log score-1m-local-0.log 2>/dev/null
  { echo "== $name: $(grep -h 'local\[' $R/$name.txt | head -1 | grep -o 'wall.*busy: gpu0 [0-9.]*s')" \
      "$(grep -h 'Pause' $R/gc-$name.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
    grep -h 'time by stage\|done: \|in [0-9.]*s ->' $R/$name/score-1m-local-0.log | cut -c1-330
    grep -h 'read(s)\|first call' $R/$name/spark-1m-local-0.log | cut -c1-600
    grep -h "missing or extra\|max |o" $R/$name.txt; } >> $S
  grep "^== $name" $S; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $S
one dump -- -Dx=1
one array-1 -- -Dx=1
one bf16-1 -- -Dx=1::--output-format bf16
CHECK_SKIP=0 one array-2 -- -Dx=1
CHECK_SKIP=0 one bf16-2 -- -Dx=1::--output-format bf16
# the first wave of reads under Flight Recorder (class loading, locks and parks from 1 ms, per-thread CPU every
# 100 ms): the recording comes back xz-compressed, with its summary
python3 docs/bench-logs/2026-12-07-h100-s22/firstwave-jfc.py /opt/stage/jre/lib/jfr/profile.jfc /tmp/fw.jfc
one jfr -- -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -XX:StartFlightRecording=settings=/tmp/fw.jfc,filename=$R/fw.jfr
/opt/stage/jre/bin/jfr summary $R/fw.jfr > $R/fw-summary.txt 2>&1; ls -la $R/fw.jfr
xz -T0 -6 -c $R/fw.jfr > $OUT/fw.jfr.xz; ls -la $OUT/fw.jfr.xz
(cd $R && tar czf $OUT/c-logs.tgz *.txt gc-*.log fw-summary.txt */score-1m-local-0.log */spark-1m-local-0.log 2>/dev/null)
