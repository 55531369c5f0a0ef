# session 8, call D (nvidia-h200-x2): issue 12 — the batch (64 documents x 65,536 tokens x 1 head) through the cluster
# on 1 and 2 GPUs, outputs compared; then issue 7 — packing from column batches vs rows (in-build switch) and the
# off-heap fragment cache, local mode, same 1M input as call C
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT; rm -rf /tmp/ev; mkdir -p /tmp/ev
ev="-Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file:/tmp/ev -Dspark.eventLog.compress=false"
OUT=$R/batch SKIP_LOCAL=1 WORKERS="1 2" COMPARE=1 CHECK_TIMEOUT=100 SUBMIT_EXTRA="$ev" bash tools/gpu-host/run-cluster.sh batch > $R/batch.txt 2>&1
python3 tools/gpu-host/evsum.py /tmp/ev > $R/evsum-batch.txt 2>&1
OUT=$R/i7 WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS='-Dflashspark.columnarScan=false::|default|-Dflashspark.fragmentCache=offheap -Dspark.memory.offHeap.enabled=true -Dspark.memory.offHeap.size=16g::|-Dflashspark.columnarScan=false::|default|-Dspark.master=local[16]::' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/i7.txt 2>&1
grep -h "time by stage\|shuffled" $R/batch.txt $R/i7.txt | cut -c1-330
cut -c1-330 $R/evsum-batch.txt
cat $R/batch/table-batch.txt $R/i7/table-1m.txt
