# session 7, call D: stage-1 matrix on the 1M x 8-head input (JVM options per variant), no checks
export WORKERS=0 SKIP_CHECK=1
R=$OUT
OUT=$R/m LOCAL_VARIANTS='default|-Dspark.sql.files.maxPartitionBytes=512m::|-Xmx32g::|-Xmx32g -XX:+AlwaysPreTouch::|-XX:+UseTransparentHugePages::|default' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/matrix.txt 2>&1
grep -h "time by stage" $R/matrix.txt | cut -c1-300
cat $R/m/table-1m.txt
