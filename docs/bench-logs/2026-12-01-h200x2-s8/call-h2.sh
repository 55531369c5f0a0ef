# session 8, call H2 (nvidia-h200): issue 7 — the off-heap fragment cache against the default, alternated three
# times on one 1M x 8-head input (build a539e36), host memory touched first; the last off-heap output checked
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
off='-Dflashspark.fragmentCache=offheap -Dspark.memory.offHeap.enabled=true -Dspark.memory.offHeap.size=16g::'
OUT=$R/h2 WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS="default|$off|default|$off|default|$off" \
  bash tools/gpu-host/run-cluster.sh 1m > $R/h2.txt 2>&1
grep -h "time by stage" $R/h2.txt | cut -c1-260
cat $R/h2/table-1m.txt
