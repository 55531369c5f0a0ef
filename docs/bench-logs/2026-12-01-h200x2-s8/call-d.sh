# Prepared in session 8 for the next nvidia-h200-x2 (or x4) call after staging (call C's staging: A jre+app, B parts
# .00/.01, then this with parts .02/.03); not run yet (the x2 kind was withdrawn after call C).
# Issue 12: is the host's CPU the limit (SMT?), with the VM's memory grown first; cells writing vs write tasks on
# 2 workers; the batch of 64 x 65,536 tokens on 1 and 2 GPUs; outputs compared between GPU counts.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
lscpu | grep -E "^CPU\(s\)|Thread|Core|Socket|Model name" | tee $R/lscpu.txt
python3 -c "import numpy as np; a = np.ones(200 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
rm -rf /tmp/ev; mkdir -p /tmp/ev
ev="-Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file:/tmp/ev -Dspark.eventLog.compress=false"
OUT=$R/m SKIP_LOCAL=1 WORKERS="1 2" COMPARE=1 SKIP_CHECK=1 SUBMIT_EXTRA="$ev" bash tools/gpu-host/run-cluster.sh 1m > $R/m.txt 2>&1
OUT=$R/m-wt0 SKIP_LOCAL=1 WORKERS="2" SKIP_CHECK=1 SCORE_ARGS="--write-tasks 0" SUBMIT_EXTRA="$ev" bash tools/gpu-host/run-cluster.sh 1m > $R/m-wt0.txt 2>&1
OUT=$R/batch SKIP_LOCAL=1 WORKERS="1 2" COMPARE=1 CHECK_TIMEOUT=100 SUBMIT_EXTRA="$ev" bash tools/gpu-host/run-cluster.sh batch > $R/batch.txt 2>&1
python3 tools/gpu-host/evsum.py /tmp/ev > $R/evsum.txt 2>&1
grep -h "time by stage\|shuffled" $R/m.txt $R/m-wt0.txt $R/batch.txt | cut -c1-330
cut -c1-330 $R/evsum.txt
cat $R/lscpu.txt $R/m/table-1m.txt $R/m-wt0/table-1m.txt $R/batch/table-batch.txt
