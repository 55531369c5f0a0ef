# usage: run32k.sh ROOT TAG  (ROOT holds bin/flashspark and its jars)
set -e
root=$1; tag=$2
d=/tmp/m/$tag; rm -rf $d; mkdir -p $d/ev
[ -d /tmp/m/t32k ] || $root/bin/flashspark generate --output /tmp/m/t32k --docs 1 --tokens 32768 --heads 2 --dim 64 --packed bf16 --seed 7
export FLASHSPARK_JAVA_OPTS="-Xmx8g -Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file://$d/ev -Dspark.eventLog.compress=false"
/usr/bin/time -f "%e s wall" $root/bin/flashspark score --input /tmp/m/t32k --output $d/out --causal "${@:3}" 2>&1 | tail -30
python3 /tmp/m/shuffle.py $d/ev/*
