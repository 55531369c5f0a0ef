# session 16, call C (calls A and B staged the JRE, both builds and Spark's parts 00, 01, 03 on this machine):
# the 1M-token x 8-head job (d 128, causal, packed bf16) on 5d1ea09 (app-before: the count job) against this
# session's build (counts from the Parquet footers, whole blocks packed in place), alternated twice; the new
# build also with transparent huge pages for the heap, and with Spark's off-heap column vectors; the new
# build's last default run checked on 16 sampled rows. First: the input's footers (encodings, row groups).
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -1
python3 -c "import numpy as np; a = np.ones(88 * 2**27); print('touched', a.nbytes >> 30, 'GiB')"
echo "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled) defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
R=$OUT/c; mkdir -p $R
after="default|-XX:+UseTransparentHugePages::default|-Dspark.sql.columnVector.offheap.enabled=true::default"
for i in 1 2; do
  OUT=$R/before-$i APP=app-before WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS=default timeout 100 bash tools/gpu-host/run-cluster.sh 1m > $R/before-$i.txt 2>&1
  [ $i = 1 ] && python3 - > $R/footers.txt 2>&1 <<'PY'
import glob, pyarrow.parquet as pq
files = sorted(glob.glob('/tmp/fs/tokens-8x1048576/*.parquet'))
print(len(files), 'files')
for f in files[:2] + files[-1:]:
    m = pq.ParquetFile(f).metadata
    print(f.split('/')[-1], 'row groups', m.num_row_groups, 'rows', m.num_rows)
    rg = m.row_group(0)
    for i in range(rg.num_columns):
        c = rg.column(i)
        print(' ', c.path_in_schema, c.encodings, c.compression, c.total_compressed_size, c.total_uncompressed_size,
              c.statistics.min if c.statistics is not None and c.statistics.has_min_max and c.path_in_schema in ('doc_id','head','pos') else '-',
              c.statistics.max if c.statistics is not None and c.statistics.has_min_max and c.path_in_schema in ('doc_id','head','pos') else '-')
PY
  OUT=$R/after-$i WORKERS=0 SKIP_CHECK=1 LOCAL_VARIANTS="$after" timeout 200 bash tools/gpu-host/run-cluster.sh 1m > $R/after-$i.txt 2>&1
done
OUT=$R/check WORKERS=0 LOCAL_VARIANTS=default timeout 150 bash tools/gpu-host/run-cluster.sh 1m > $R/check.txt 2>&1
cat $R/footers.txt | head -30
for f in $R/before-*.txt $R/after-*.txt $R/check.txt; do echo "== $(basename $f)"; grep 'local\[' $f | cut -c1-230; grep -h 'time by stage' $f | cut -c23-330; done
tail -3 $R/check.txt | cut -c1-220
(cd $OUT && tar czf c.tgz c && rm -rf c)
