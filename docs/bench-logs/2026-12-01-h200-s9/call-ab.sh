SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
python3 -c "import numpy as np; a=np.ones(88*2**27); print('touched')"
R=$OUT
for i in 1 2; do
  for app in app-before app; do
    OUT=$R/$app-$i APP=$app WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default bash tools/gpu-host/run-cluster.sh 1m > $R/$app-$i.txt 2>&1
    echo "$app run $i: $(grep -h 'local' $R/$app-$i/table-1m.txt | cut -c1-120)"
  done
done
