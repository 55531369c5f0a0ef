# session 8, call H3 (nvidia-h200): doc ids decoded once per dictionary run + page-writer statistics (0cc44f1, app)
# against a539e36 (app-before), alternated three times on one 1M x 8-head input, host memory touched first;
# the last run of the new build checked against the float64 reference
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
export WORKERS=0 LOCAL_VARIANTS=default
for i in 1 2 3; do
  OUT=$R/before-$i APP=app-before SKIP_CHECK=1 bash tools/gpu-host/run-cluster.sh 1m > $R/before-$i.txt 2>&1
  if [ $i = 3 ]; then check=0; else check=1; fi
  OUT=$R/after-$i SKIP_CHECK=$check CHECK_TIMEOUT=120 bash tools/gpu-host/run-cluster.sh 1m > $R/after-$i.txt 2>&1
done
for i in 1 2 3; do echo "== before $i (a539e36)"; grep -h "time by stage" $R/before-$i.txt | cut -c1-200; cat $R/before-$i/table-1m.txt | cut -c1-150
  echo "== after $i (0cc44f1)"; grep -h "time by stage" $R/after-$i.txt | cut -c1-200; cat $R/after-$i/table-1m.txt | cut -c1-150; done
