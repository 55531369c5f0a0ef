# session 14, call F (the same warm machine right after call E): the 16M-token document with the heap options that
# did best on the 1M job (-Xms100g -XX:MaxTenuringThreshold=0), checked: 16,777,216 tokens x 1 head, d 128, causal,
# packed bf16, bf16 output, default plan; output against the float64 reference on 16 sampled rows. Session 13's
# call D ran it with the default options (score 175.3 s, GPU busy 124.4 s, unchecked).
R=$OUT/f; mkdir -p $R
OUT=$R/runs TOKENS=16777216 HEADS=1 SCORE_ARGS="--output-format bf16" CHECK_TIMEOUT=330 WORKERS=0 \
  JVM_EXTRA="-Xlog:gc:file=$R/gc-%p.log" LOCAL_VARIANTS="-Xms100g -XX:MaxTenuringThreshold=0::" \
  timeout 590 bash tools/gpu-host/run-cluster.sh 1m > $R/f.txt 2>&1
tail -6 $R/f.txt | cut -c1-300
for f in $R/gc-*.log; do echo "$(basename $f): $(grep -c Pause $f) pauses, $(awk '/Pause/ {gsub("ms","",$NF); s+=$NF} END {printf "%.0f", s}' $f) ms"; done
(cd $OUT && tar czf f.tgz f && rm -rf f)
