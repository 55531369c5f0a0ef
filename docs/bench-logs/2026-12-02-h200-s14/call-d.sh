# session 14, call D (the same warm machine right after call C, whose JVM-option variants were misquoted):
# the 1M x 8-head job (d 128, causal, packed bf16) with the heap's JVM options alternated:
# default (-Xmx100g: G1 starts at 1/64 of the host memory and resizes the heap as it goes), -Xms100g (committed
# at full size from the start), -Xms100g with survivors promoted at their first collection, the Parallel
# collector and ZGC with -Xms100g, the default again. Call C: G1 paused 3.0-3.2 s per run, mostly young pauses
# of 100-290 ms copying the cells blocks. GC logs per run; no reference check (JVM options only).

R=$OUT/d; mkdir -p $R

OUT=$R/runs SKIP_CHECK=1 WORKERS=0 JVM_EXTRA="-Xlog:gc:file=$R/gc-%p.log" \
  LOCAL_VARIANTS="default|-Xms100g::|-Xms100g -XX:MaxTenuringThreshold=0::|-XX:+UseParallelGC -Xms100g::|-XX:+UseZGC -Xms100g::|default" \
  timeout 540 bash tools/gpu-host/run-cluster.sh 1m > $R/d.txt 2>&1
tail -10 $R/d.txt | cut -c1-200
for f in $R/gc-*.log; do echo "$(basename $f): $(grep -c Pause $f) pauses, $(awk '/Pause/ {gsub("ms","",$NF); s+=$NF} END {printf "%.0f", s}' $f) ms"; done
(cd $R/runs && tar xzf logs-1m.tgz && grep -h "time by stage" score-1m-local-*.log | cut -c1-200)
(cd $OUT && tar czf d.tgz d && rm -rf d)
