# CPU 32k job (issue 7's CPU table): 199974b (session 19 head 8522c01 with reads logged; a worktree with its own gpu-udf) against main,
# alternated 3x; each build's class data sharing archive made by a first run
mkdir -p /tmp/vm20; cd /tmp/vm20
export FLASHSPARK_JAVA_OPTS=-Xmx8g
for b in /tmp/wt-before /work/main; do $b/bin/flashspark score --input /tmp/t32 --output /tmp/vm20/warm --overwrite --causal --backend cpu --precision bf16 > /dev/null 2>&1; sleep 5; done
for i in 1 2 3; do
  for b in before main; do
    d=/tmp/wt-before; [ $b = main ] && d=/work/main
    rm -rf /tmp/vm20/out-$b
    $d/bin/flashspark score --input /tmp/t32 --output /tmp/vm20/out-$b --causal --backend cpu --precision bf16 > /tmp/vm20/score-32k-$b-$i.txt 2>&1
    sleep 10
  done
done
/work/main/bin/flashspark check --input /tmp/t32 --output /tmp/vm20/out-main --causal --precision bf16 --doc-heads 2 --rows 32 > /tmp/vm20/check.txt 2>&1
for f in /tmp/vm20/score-32k-*.txt; do echo "$f $(grep -o 'in [0-9.]*s ->' $f) $(grep -o 'count tokens and plan [0-9.]*s\|compute [0-9.]*s\|reading their blocks [0-9.]*s\|writing output after the cells [0-9.]*s' $f | tr '\n' ' ')"; done
echo done
