# session 8, call C (nvidia-h200-x2): issue 12 — the 1M x 8-head d128 causal bf16 job in local mode (32 cores, 2 GPUs
# visible, one used) and through bin/flashspark-cluster with 1 and 2 workers (one GPU, 16 cores, 100 GB each);
# both cluster outputs checked against the float64 reference and compared with each other row by row
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT; rm -rf /tmp/ev; mkdir -p /tmp/ev
ev="-Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file:/tmp/ev -Dspark.eventLog.compress=false"
OUT=$R/local WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default JVM_EXTRA="$ev" bash tools/gpu-host/run-cluster.sh 1m > $R/local.txt 2>&1
OUT=$R/cluster SKIP_LOCAL=1 WORKERS="1 2" COMPARE=1 CHECK_TIMEOUT=120 SUBMIT_EXTRA="$ev" bash tools/gpu-host/run-cluster.sh 1m > $R/cluster.txt 2>&1
python3 tools/gpu-host/evsum.py /tmp/ev > $R/evsum.txt 2>&1
grep -h "time by stage\|shuffled\|backend:" $R/local.txt $R/cluster.txt | cut -c1-420
cut -c1-330 $R/evsum.txt
cat $R/local/table-1m.txt $R/cluster/table-1m.txt
