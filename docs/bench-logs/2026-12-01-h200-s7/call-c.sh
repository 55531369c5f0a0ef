# session 7, call C: page writer + GPU plan defaults (this build) against 80ede21 (app-before), 1M x 8 heads
bash tools/gpu-host/unpack.sh | tail -1
export WORKERS=0
R=$OUT
OUT=$R/before APP=app-before SKIP_CHECK=1 LOCAL_VARIANTS='default|--output-format bf16' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/before.txt 2>&1
OUT=$R/after CHECK_TIMEOUT=100 LOCAL_VARIANTS='default|--output-format bf16|--write-tasks 0' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/after.txt 2>&1
grep -h "time by stage\|shuffled" $R/before.txt $R/after.txt | cut -c1-300
echo "== before (80ede21)"; cat $R/before/table-1m.txt; echo "== after (HEAD)"; cat $R/after/table-1m.txt
