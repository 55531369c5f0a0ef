# session 14, call C (nvidia-h200, after calls A and B staged the JRE, the build of facde98 and Spark's parts): the
# last Spark part, then the 1M x 8-head job (d 128, causal, packed bf16) with the heap's JVM options alternated:
# the default (-Xmx100g: G1 starts at 1/64 of the host's memory and grows and shrinks the heap as it goes),
# -Xms100g (the heap committed at its full size from the start), and the Parallel collector with -Xms100g.
# On the 2-core VM the same job (512 docs x 2048 tokens, CPU backend) routed in 11.7 s with -Xmx12g and 7.2 s
# with -Xms12g added. GC logs per run; no reference check (JVM options only; the build was checked in session 13).
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/c; mkdir -p $R
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
OUT=$R/runs SKIP_CHECK=1 WORKERS=0 JVM_EXTRA="-Xlog:gc:file=$R/gc-%p.log" \
  LOCAL_VARIANTS="default|-Xms100g::default|-XX:+UseParallelGC -Xms100g::default|default|-Xms100g::default" \
  timeout 480 bash tools/gpu-host/run-cluster.sh 1m > $R/c.txt 2>&1
tail -8 $R/c.txt | cut -c1-200
for f in $R/gc-*.log; do echo "$(basename $f): $(grep -c Pause $f) pauses, $(awk '/Pause/ {gsub("ms","",$NF); s+=$NF} END {printf "%.0f", s}' $f) ms"; done
(cd $R/runs && tar xzf logs-1m.tgz && grep -h "time by stage" score-1m-local-*.log | cut -c1-200)
(cd $OUT && tar czf c.tgz c && rm -rf c)
