# Session 21: as route.sh on a larger table (1 doc x 65,536 tokens x 2 heads, d 128, packed bf16, 100 MB of q/k/v:
# `flashspark generate --output /tmp/g21 --tokens 64k --heads 2 --dim 128 --packed bf16`), alternated 2x.
mkdir -p /tmp/vm21r; cd /tmp/vm21r
for i in 1 2; do
  for v in spark own; do
    extra=$([ $v = spark ] && echo "-Dflashspark.parquetTokens=false")
    rm -rf /tmp/vm21r/o64-$v
    FLASHSPARK_JAVA_OPTS="-Xmx8g -Dflashspark.directCells=false $extra" /work/main/bin/flashspark score --input /tmp/g21 \
      --output /tmp/vm21r/o64-$v --causal --backend cpu > /tmp/vm21r/route-64k-$v-$i.txt 2>&1
    sleep 5
  done
done
for f in /tmp/vm21r/route-64k-*.txt; do echo "$(basename $f) $(grep -o 'in [0-9.]*s ->' $f) $(grep -o 'count tokens and plan [0-9.]*s\|read, pack and route [0-9.]*s\|compute [0-9.]*s' $f | tr '\n' ' ')"; done
