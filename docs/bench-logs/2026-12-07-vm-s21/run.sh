# Session 21: CPU 32k job (issue 7's CPU table: 1 doc x 32,768 tokens x 2 heads, d 64, causal, packed bf16, /tmp/t32),
# vectors through parquet-mr's column readers (-Dflashspark.plainPages=false) against their own page reader (default),
# same build, alternated 3x after a warm-up run of each; then the output checked against the float64 reference.
mkdir -p /tmp/vm21; cd /tmp/vm21
for plain in false true; do
  FLASHSPARK_JAVA_OPTS="-Xmx8g -Dflashspark.plainPages=$plain" /work/main/bin/flashspark score --input /tmp/t32 \
    --output /tmp/vm21/warm --overwrite --causal --backend cpu --precision bf16 > /dev/null 2>&1; sleep 5; done
for i in 1 2 3; do
  for plain in false true; do
    rm -rf /tmp/vm21/out-$plain
    FLASHSPARK_JAVA_OPTS="-Xmx8g -Dflashspark.plainPages=$plain" /work/main/bin/flashspark score --input /tmp/t32 \
      --output /tmp/vm21/out-$plain --causal --backend cpu --precision bf16 > /tmp/vm21/score-32k-plain-$plain-$i.txt 2>&1
    sleep 10
  done
done
/work/main/bin/flashspark check --input /tmp/t32 --output /tmp/vm21/out-true --causal --precision bf16 --doc-heads 2 --rows 32 > /tmp/vm21/check.txt 2>&1
for f in /tmp/vm21/score-32k-*.txt; do echo "$(basename $f) $(grep -o 'in [0-9.]*s ->' $f) $(grep -o 'count tokens and plan [0-9.]*s\|compute [0-9.]*s\|reading their blocks [0-9.]*s\|writing output after the cells [0-9.]*s' $f | tr '\n' ' ')"; done
grep -h "missing\|max |o" /tmp/vm21/check.txt
