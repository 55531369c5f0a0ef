#!/usr/bin/env bash
# Prepared in session 23 (no GPU lent that session), for the next GPU session's first call after the staging calls
# (next.md): the GPU tests with the driver's staging rings and with registered rings, then the 1M x 8-head job with
# registered rings on and off (same build) alternated with 6fc4226 (app-before), then one checked bf16 run (registered
# rings where their GPU tests passed). Summaries in $OUT/tests.txt and $OUT/ab.txt.
SPARK_PARTS=${SPARK_PARTS:-3} bash tools/gpu-host/unpack.sh | tail -1
for t in driver registered; do
  opts=""; [ $t = registered ] && opts=-Dflashspark.gpu.registeredRings=true
  TEST_JAVA_OPTS=$opts OUT=$OUT/t-$t timeout 200 bash tools/gpu-host/run.sh tests > /tmp/t-$t.log 2>&1
  echo "GPU tests, $t rings: exit $? $(grep -hE 'tests (successful|failed)' $OUT/t-$t/gpu-tests.log | tr -s ' ' | tr '\n' ' ')" \
    | tee -a $OUT/tests.txt
done
ON=-Dflashspark.gpu.registeredRings=true
if grep -qE "\[ +0 tests failed" $OUT/t-registered/gpu-tests.log; then good=$ON; else good=""; fi
OUT=$OUT bash tools/gpu-host/ab-1m.sh "dump|app||" "dump-before|app-before||" \
  "on-1|app|$ON|" "off-1|app||" "before-1|app-before||" "on-2|app|$ON|" "off-2|app||" "before-2|app-before||" \
  "check-bf16|app|$good|--output-format bf16"
