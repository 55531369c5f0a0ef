# session 7, call F: cells streaming their partials to the writer + cells write by default (76f049b, app)
# against 4bd30e0 (app-before), 1M x 8 heads; GC and chunk-size variants on the new build
bash tools/gpu-host/unpack.sh | tail -1
export WORKERS=0
R=$OUT
OUT=$R/before APP=app-before SKIP_CHECK=1 LOCAL_VARIANTS='default|--write-tasks 0' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/before.txt 2>&1
OUT=$R/after CHECK_TIMEOUT=100 LOCAL_VARIANTS='default' bash tools/gpu-host/run-cluster.sh 1m > $R/after.txt 2>&1
OUT=$R/after2 SKIP_CHECK=1 LOCAL_VARIANTS='-Dflashspark.gpu.chunkBytes=67108864::|-XX:+UseParallelGC::|default|--output-format bf16' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/after2.txt 2>&1
grep -h "time by stage\|shuffled" $R/before.txt $R/after.txt $R/after2.txt | cut -c1-330
echo "== before (4bd30e0)"; cat $R/before/table-1m.txt; echo "== after (76f049b)"; cat $R/after/table-1m.txt $R/after2/table-1m.txt
