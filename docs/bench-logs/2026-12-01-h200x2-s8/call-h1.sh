# session 8, call H1 (nvidia-h200, one GPU, 16 cores): issue 7 — packing from column batches vs rows (in-build switch),
# the off-heap fragment cache, then a Flight Recorder profile (execution + allocation samples) of the default run,
# local mode, 1M x 8 heads; host memory touched once first (the VM grows its memory on first use, ~3 s per 8 GiB)
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
OUT=$R/i7 WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS='-Dflashspark.columnarScan=false::|default|-Dflashspark.fragmentCache=offheap -Dspark.memory.offHeap.enabled=true -Dspark.memory.offHeap.size=16g::|-Dflashspark.columnarScan=false::|default' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/i7.txt 2>&1
rm -rf /tmp/ev; mkdir -p /tmp/ev
OUT=$R/prof WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default \
  JVM_EXTRA="-XX:FlightRecorderOptions:stackdepth=128 -XX:StartFlightRecording=filename=$R/s1.jfr,settings=profile -Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file:/tmp/ev -Dspark.eventLog.compress=false" \
  bash tools/gpu-host/run-cluster.sh 1m > $R/prof.txt 2>&1
python3 tools/gpu-host/evsum.py /tmp/ev > $R/evsum-prof.txt 2>&1; ls -la $R/s1.jfr
grep -h "time by stage" $R/i7.txt $R/prof.txt | cut -c1-330
cut -c1-300 $R/evsum-prof.txt
cat $R/i7/table-1m.txt $R/prof/table-1m.txt
