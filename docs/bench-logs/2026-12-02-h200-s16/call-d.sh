# session 16, call D (same warm machine right after call C): (1) the batch, 64 documents x 65,536 tokens x 1 head
# (d 128, causal, packed bf16, bf16 output), 5d1ea09 (app-before) against this session's build, alternated twice,
# the new build's last output checked; (2) one 1M x 8-head run of the new build under Flight Recorder.
R=$OUT/d; mkdir -p $R
for i in 1 2; do
  OUT=$R/batch-before-$i APP=app-before WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default timeout 100 bash tools/gpu-host/run-cluster.sh batch > $R/batch-before-$i.txt 2>&1
  skip=1; [ $i = 2 ] && skip=0
  OUT=$R/batch-after-$i WORKERS=0 SKIP_CHECK=$skip LOCAL_VARIANTS=default timeout 150 bash tools/gpu-host/run-cluster.sh batch > $R/batch-after-$i.txt 2>&1
done
OUT=$R/jfr WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default JVM_EXTRA="-XX:StartFlightRecording=filename=$R/direct.jfr,settings=profile" \
  timeout 120 bash tools/gpu-host/run-cluster.sh 1m > $R/jfr.txt 2>&1
ls -la $R/direct.jfr
for f in $R/batch-*.txt $R/jfr.txt; do echo "== $(basename $f)"; grep 'local\[' $f | cut -c1-230; grep -h 'time by stage' $f | cut -c23-330; done
tail -3 $R/batch-after-2.txt | cut -c1-220
(cd $OUT && tar czf d.tgz d && rm -rf d)
