# session 11, call 8 (nvidia-h200): the last Spark part, then issue 7's 1M x 8-head job on the final build
# (persistent snake-order launch), host memory touched first, default and bf16 output, each output checked.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
OUT=$R/c8 WORKERS=0 LOCAL_VARIANTS="default|--output-format bf16" timeout 520 bash tools/gpu-host/run-cluster.sh 1m > $R/c8.txt 2>&1
grep -h "time by stage" $R/c8.txt | cut -c1-300
cat $R/c8/table-1m.txt
