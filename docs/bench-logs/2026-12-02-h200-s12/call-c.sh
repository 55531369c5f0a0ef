# session 12, call C (nvidia-h200): the last Spark part, then issue 7's 1M x 8-head job, one pass (this build,
# app) against session 11's HEAD (app-before, 20c63d2), alternated twice on one warmed host; this build's
# first run and its bf16-output run checked against the float64 reference.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
for round in 1 2; do
  for app in app-before app; do
    check=1; [ $app = app ] && [ $round = 1 ] && check=0
    APP=$app OUT=$R/$app-$round SKIP_CHECK=$check WORKERS=0 LOCAL_VARIANTS=default timeout 200 \
      bash tools/gpu-host/run-cluster.sh 1m > $R/$app-$round.txt 2>&1
  done
done
APP=app OUT=$R/app-bf16 WORKERS=0 LOCAL_VARIANTS="--output-format bf16" timeout 200 \
  bash tools/gpu-host/run-cluster.sh 1m > $R/app-bf16.txt 2>&1
for f in app-before-1 app-1 app-before-2 app-2 app-bf16; do
  echo "== $f"; grep -h "local\[\*\]\|missing\|max |o" $R/$f/table-1m.txt; grep -h "time by stage" $R/$f.txt | cut -c1-260
done
