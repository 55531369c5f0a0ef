# session 14, call E (the same warm machine right after call D): repeats of call D's best, alternated, twice:
# default, -Xms100g with survivors promoted at their first collection (MaxTenuringThreshold=0), the same
# without -Xms, the Parallel collector with -Xms100g (call D, one run each: 19.77 / 21.76, 16.91, -, 18.24 s).

R=$OUT/e; mkdir -p $R

OUT=$R/runs SKIP_CHECK=1 WORKERS=0 JVM_EXTRA="-Xlog:gc:file=$R/gc-%p.log" \
  LOCAL_VARIANTS="default|-Xms100g -XX:MaxTenuringThreshold=0::|-XX:MaxTenuringThreshold=0::|-XX:+UseParallelGC -Xms100g::|default|-Xms100g -XX:MaxTenuringThreshold=0::|-XX:MaxTenuringThreshold=0::|-XX:+UseParallelGC -Xms100g::" \
  timeout 560 bash tools/gpu-host/run-cluster.sh 1m > $R/e.txt 2>&1
tail -12 $R/e.txt | cut -c1-200
for f in $R/gc-*.log; do echo "$(basename $f): $(grep -c Pause $f) pauses, $(awk '/Pause/ {gsub("ms","",$NF); s+=$NF} END {printf "%.0f", s}' $f) ms"; done
(cd $R/runs && tar xzf logs-1m.tgz && grep -h "time by stage" score-1m-local-*.log | cut -c1-200)
(cd $OUT && tar czf e.tgz e && rm -rf e)
