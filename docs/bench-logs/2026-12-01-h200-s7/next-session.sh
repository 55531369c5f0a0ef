# Prepared in session 7 for the next GPU session (not run yet). Stage first: app = HEAD, app-before = 21232f6
# (streaming cells, before ColumnarScan), e.g. `git worktree add /tmp/wt 21232f6 && (cd /tmp/wt && mvn -q -o package
# -DskipTests)` and copy its three flashspark jars over a copy of .stage/app as .stage/app-before.
# One call after staging (~8 runs of ~30 s): packing from column batches against rows, in-build and across builds,
# then a Flight Recorder profile with allocation samples of the default run.
bash tools/gpu-host/unpack.sh | tail -1
export WORKERS=0 SKIP_CHECK=1
R=$OUT
OUT=$R/before APP=app-before LOCAL_VARIANTS='default' bash tools/gpu-host/run-cluster.sh 1m > $R/before.txt 2>&1
OUT=$R/after CHECK_TIMEOUT=100 SKIP_CHECK=0 LOCAL_VARIANTS='default' bash tools/gpu-host/run-cluster.sh 1m > $R/after.txt 2>&1
OUT=$R/after2 LOCAL_VARIANTS='-Dflashspark.columnarScan=false::|default|-Dflashspark.fragmentCache=disk::|-Dflashspark.fragmentCache=offheap -Dspark.memory.offHeap.enabled=true -Dspark.memory.offHeap.size=16g::|-XX:+UseParallelGC::' \
  bash tools/gpu-host/run-cluster.sh 1m > $R/after2.txt 2>&1
OUT=$R/prof LOCAL_VARIANTS='default' JVM_EXTRA="-XX:StartFlightRecording=filename=/tmp/s1.jfr,settings=profile" \
  bash tools/gpu-host/run-cluster.sh 1m > $R/prof.txt 2>&1; cp /tmp/s1.jfr $R/ 2>/dev/null
grep -h "time by stage" $R/before.txt $R/after.txt $R/after2.txt | cut -c1-300
cat $R/before/table-1m.txt $R/after/table-1m.txt $R/after2/table-1m.txt
