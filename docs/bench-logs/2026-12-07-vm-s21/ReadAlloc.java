package io.flashspark.job;

import io.flashspark.attention.PackedRows;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.*;
import org.apache.spark.sql.execution.datasources.FilePartition;

/** One thread reading a packed table's partitions as the cells do (parquet-mr rows, packer, slabs): time and bytes allocated. */
public class ReadAlloc {
  public static void main(String[] a) throws Exception {
    SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
    Dataset<Row> table = spark.read().parquet(a[0]);
    Fragments.Table t = Fragments.pack(table, "t", TableRole.SELF, null, 2048, io.flashspark.attention.Precision.BF16, 128);
    List<FilePartition> parts = FooterCounts.filePartitions(t.scan().batches());
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    for (int rep = 0; rep < 6; rep++) {
      long a0 = mx.getCurrentThreadAllocatedBytes(), t0 = System.nanoTime(), bytes = 0, rows = 0;
      PackedRows.Slabs slabs = PackedRows.Slabs.forThisHeap().orElse(null);
      for (FilePartition p : parts) {
        try (ParquetTokens tokens = ParquetTokens.of(p, spark.sparkContext().hadoopConfiguration(), t.packer().intHead(), t.packer().intPos(), t.packer().vectorColumns())) {
          Iterator<Fragments.Piece> it = t.packer().pieces(tokens, slabs);
          while (it.hasNext()) { Fragments.Piece f = it.next(); rows += f.rows(); bytes += f.q().size() + f.kv().size(); }
        }
      }
      double s = (System.nanoTime() - t0) / 1e9;
      long alloc = mx.getCurrentThreadAllocatedBytes() - a0;
      System.out.printf("%d rows, %.0f MB packed in %.2f s = %.0f MB/s; allocated %.0f MB (%.2f per packed byte)%n", rows, bytes / 1e6, s, bytes / 1e6 / s, alloc / 1e6, (double) alloc / bytes);
    }
  }
}
