# Session 21: the routed path (-Dflashspark.directCells=false: a packing stage, the routing shuffle, then the cells;
# the path of cluster mode and cross-attention) on the CPU 32k job: the packing stage reading the scan's partitions
# through Spark's vectorized reader (-Dflashspark.parquetTokens=false, as before this session) against parquet-mr
# and the vectors' page reader (default), same build, alternated 3x after a warm-up run of each; output checked.
mkdir -p /tmp/vm21r; cd /tmp/vm21r
for v in spark own; do
  extra=$([ $v = spark ] && echo "-Dflashspark.parquetTokens=false")
  FLASHSPARK_JAVA_OPTS="-Xmx8g -Dflashspark.directCells=false $extra" /work/main/bin/flashspark score --input /tmp/t32 \
    --output /tmp/vm21r/warm --overwrite --causal --backend cpu --precision bf16 > /dev/null 2>&1; sleep 5; done
for i in 1 2 3; do
  for v in spark own; do
    extra=$([ $v = spark ] && echo "-Dflashspark.parquetTokens=false")
    rm -rf /tmp/vm21r/out-$v
    FLASHSPARK_JAVA_OPTS="-Xmx8g -Dflashspark.directCells=false $extra" /work/main/bin/flashspark score --input /tmp/t32 \
      --output /tmp/vm21r/out-$v --causal --backend cpu --precision bf16 > /tmp/vm21r/route-32k-$v-$i.txt 2>&1
    sleep 10
  done
done
/work/main/bin/flashspark check --input /tmp/t32 --output /tmp/vm21r/out-own --causal --precision bf16 --doc-heads 2 --rows 32 > /tmp/vm21r/check.txt 2>&1
for f in /tmp/vm21r/route-32k-*.txt; do echo "$(basename $f) $(grep -o 'in [0-9.]*s ->' $f) $(grep -o 'count tokens and plan [0-9.]*s\|read, pack and route [0-9.]*s\|compute [0-9.]*s\|write [0-9.]*s' $f | tr '\n' ' ')"; done
grep -h "missing\|max |o" /tmp/vm21r/check.txt
