# session 15, call D (same warm machine): the batch, 64 documents x 65,536 tokens x 1 head (d 128, causal, packed
# bf16, bf16 output), cells reading their input (default) against the routing shuffle, alternated; the default's
# output checked on sampled rows.
R=$OUT/d; mkdir -p $R
routed=-Dflashspark.directCells=false
OUT=$R/runs WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS="$routed::default|default|$routed::default|default" \
  timeout 330 bash tools/gpu-host/run-cluster.sh batch > $R/ab.txt 2>&1
OUT=$R/check WORKERS=0 LOCAL_VARIANTS=default timeout 200 bash tools/gpu-host/run-cluster.sh batch > $R/check.txt 2>&1
grep -h "time by stage" $R/ab.txt $R/check.txt | cut -c1-260
tail -3 $R/check.txt | cut -c1-250
grep "local\[" $R/ab.txt | cut -c1-200
(cd $OUT && tar czf d.tgz d && rm -rf d)
