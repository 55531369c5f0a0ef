#!/usr/bin/env bash
# Session 22, call D (after the staging calls: the JRE, Spark's three parts, .stage/app = this session's build with
# the partials made per chunk and the staging rings our own host memory registered with the driver, .stage/app-before = 6fc4226's): the GPU
# tests of the new build, then the 1M x 8-head job alternated between the two builds and the new one with
# -Dflashspark.gpu.registeredRings=false (each build's first run dumps its class data sharing archive and is not
# counted), and one checked run of the new build with --output-format bf16. Summaries go to $OUT/d.txt as each run
# ends. SLIM=1: no earlier build, the new one alternated with and without registered rings.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
OUT=$OUT/t bash tools/gpu-host/run.sh tests > /tmp/t.log 2>&1; echo "GPU tests exit $?"
grep -E "tests (successful|failed)" $OUT/t/gpu-tests.log
R=/tmp/d; rm -rf $R; mkdir -p $R; S=$OUT/d.txt
one() { # one NAME APP [score options]
  local name=$1 app=$2; shift 2; local args=${*:-default}
  env CDS=1 APP=$app OUT=$R/$name WORKERS=0 SKIP_CHECK=${CHECK_SKIP:-1} LOCAL_VARIANTS="${J:--Dx=1} -Xlog:gc:file=$R/gc-$name.log::$args" \
    timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/$name.txt 2>&1
  tar xzf $R/$name/logs-1m.tgz -C $R/$name spark-1m-local-0.log score-1m-local-0.log 2>/dev/null
  { echo "== $name: $(grep -h 'local\[' $R/$name.txt | head -1 | grep -o 'wall.*busy: gpu0 [0-9.]*s')" \
      "$(grep -h 'Pause' $R/gc-$name.log | awk '{x = $NF; sub("ms", "", x); s += x} END {print NR, "GC pauses,", s, "ms"}')"
    grep -h 'time by stage\|in [0-9.]*s ->' $R/$name/score-1m-local-0.log | cut -c1-330
    grep -h 'read(s)' $R/$name/spark-1m-local-0.log | head -2 | cut -c1-250
    grep -h 'first call' $R/$name/spark-1m-local-0.log | head -3 | cut -c1-420
    grep -h "missing or extra\|max |o" $R/$name.txt | sort -u; } >> $S
  grep "^== $name" $S; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $S
one dump-after app
if [ "${SLIM:-0}" = 1 ]; then # little device time left: the new build with and without registered rings, checked
  one after-1 app; J=-Dflashspark.gpu.registeredRings=false one rings-off-1 app
  CHECK_SKIP=0 one after-bf16 app --output-format bf16; one after-2 app
  J=-Dflashspark.gpu.registeredRings=false one rings-off-2 app
else
  one dump-before app-before
  for r in 1 2; do one after-$r app; [ $r = 1 ] && J=-Dflashspark.gpu.registeredRings=false one rings-off-$r app; one before-$r app-before; done
  CHECK_SKIP=0 one after-bf16 app --output-format bf16
fi
(cd $R && tar czf $OUT/d-logs.tgz *.txt gc-*.log */score-1m-local-0.log */spark-1m-local-0.log 2>/dev/null)
