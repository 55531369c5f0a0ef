# session 14, call H (nvidia-h200, a fresh machine after calls A and B staged the JRE, this build and Spark's parts):
# bin/flashspark itself on the GPU host (tools/gpu-host/layout.sh lays the staged jars out as a build), its class
# data sharing archive off and on. The input is generated with FLASHSPARK_CDS=off; a first score with it on records
# the classes it loads and leaves the archive to a background JVM; then the 1M x 8-head job (d 128, causal,
# packed bf16) alternated: FLASHSPARK_CDS=off, on, off, on. JVM wall from the script, score and stages from the
# summary. No reference check (launcher options only; the output path is unchanged).
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
R=$OUT/h; mkdir -p $R
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
root=$(pwd); stage=/opt/stage; source tools/gpu-host/layout.sh
export JAVA_HOME=$stage/jre FLASHSPARK_CDS_DIR=/tmp/cds FLASHSPARK_JAVA_OPTS="-Xmx100g -Dspark.local.dir=/tmp/spark-local"
input=/tmp/fs/tokens-8x1048576; mkdir -p /tmp/fs
[ -f $input/_SUCCESS ] || FLASHSPARK_CDS=off bin/flashspark generate --output $input --docs 1 --tokens 1048576 --heads 8 \
  --dim 128 --packed bf16 > $R/generate.log 2>&1
run() { # NAME FLASHSPARK_CDS
  rm -rf /tmp/fs/out; local s=$(date +%s.%N)
  FLASHSPARK_CDS=$2 bin/flashspark score --input $input --output /tmp/fs/out --causal --backend gpu > $R/$1.log 2>&1
  local rc=$? w=$(python3 -c "import time; print(round(time.time() - $s, 1))")
  echo "$1: exit $rc, JVM $w s, score $(grep -o 'in [0-9.]*s ->' $R/$1.log | grep -o '[0-9.]*') s; $(grep 'time by stage' $R/$1.log | cut -c23-125)" | tee -a $R/table.txt
}
run first on
for i in $(seq 90); do ls /tmp/cds/*.jsa > /dev/null 2>&1 && break; sleep 1; done; ls -la /tmp/cds > $R/cds.txt 2>&1
echo "archive after $i s: $(ls /tmp/cds)" | tee -a $R/table.txt
run off-1 off; run on-1 on; run off-2 off; run on-2 on
(cd $OUT && tar czf h.tgz h && rm -rf h)
