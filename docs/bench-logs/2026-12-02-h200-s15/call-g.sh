# session 15, call G (a fresh machine; calls A3 and B3 staged the JRE, both builds and Spark's parts 00, 01, 03): the
# count's aggregation in two levels (per block and input partition by a plain hash aggregate, then per block)
# against the collect_set over the tokens of b611744 (app-before), the 1M-token x 8-head job on the direct path,
# alternated three times; the new build's last output checked on 16 sampled rows.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
R=$OUT/g; mkdir -p $R
for i in 1 2 3; do
  OUT=$R/before-$i APP=app-before WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default timeout 100 bash tools/gpu-host/run-cluster.sh 1m > $R/before-$i.txt 2>&1
  skip=1; [ $i = 3 ] && skip=0
  OUT=$R/after-$i WORKERS=0 SKIP_CHECK=$skip LOCAL_VARIANTS=default timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/after-$i.txt 2>&1
done
for f in $R/before-*.txt $R/after-*.txt; do echo "$(basename $f): $(grep 'local\[' $f | head -1 | cut -c30-150) | $(grep 'time by stage' $f | cut -c23-140)"; done
tail -2 $R/after-3.txt | cut -c1-220
(cd $OUT && tar czf g.tgz g && rm -rf g)
