# session 15, call F (same warm machine right after call E): (1) one direct 1M x 8-head run under Flight Recorder
# (settings=profile) to see where the cells' reading spends its CPU; (2) the batch, 64 documents x 65,536 tokens x
# 1 head (d 128, causal, packed bf16, bf16 output): direct (default) against the routing shuffle, alternated, and
# the default's output checked on sampled rows.
R=$OUT/f; mkdir -p $R
OUT=$R/jfr WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default JVM_EXTRA="-XX:StartFlightRecording=filename=$R/direct.jfr,settings=profile" \
  timeout 120 bash tools/gpu-host/run-cluster.sh 1m > $R/jfr.txt 2>&1
ls -la $R/direct.jfr
routed=-Dflashspark.directCells=false
OUT=$R/runs WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS="$routed::default|default|$routed::default|default" \
  timeout 260 bash tools/gpu-host/run-cluster.sh batch > $R/ab.txt 2>&1
OUT=$R/check WORKERS=0 LOCAL_VARIANTS=default timeout 150 bash tools/gpu-host/run-cluster.sh batch > $R/check.txt 2>&1
grep -h "time by stage" $R/jfr.txt $R/ab.txt $R/check.txt | cut -c1-260
tail -3 $R/check.txt | cut -c1-250
grep "local\[" $R/jfr.txt $R/ab.txt | cut -c1-200
(cd $OUT && tar czf f.tgz f && rm -rf f)
