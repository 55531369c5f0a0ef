package io.flashspark.job;

import java.util.*;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.*;
import org.apache.parquet.column.impl.ColumnReadStoreImpl;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.*;
import org.apache.spark.sql.*;
import org.apache.spark.sql.vectorized.*;

/** Single-thread read rate of q/k/v bytes: Spark's vectorized reader vs parquet-mr's column readers. */
public class ReadRate {
  public static void main(String[] a) throws Exception {
    String path = a[0];
    SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    List<String> files = new ArrayList<>();
    for (java.io.File f : new java.io.File(path).listFiles()) if (f.getName().endsWith(".parquet")) files.add(f.getPath());
    Collections.sort(files);
    byte[] dst = new byte[64 << 20];
    for (int rep = 0; rep < 4; rep++) {
      // Spark's vectorized reader
      long t0 = System.nanoTime();
      Dataset<Row> t = spark.read().parquet(path);
      ColumnarScan.Tokens scan = ColumnarScan.of(t, TableRole.SELF).orElseThrow();
      long bytes = scan.batches().toJavaRDD().mapPartitions(it -> {
        long n = 0; int at = 0;
        byte[] d = new byte[64 << 20];
        while (it.hasNext()) {
          ColumnarBatch b = it.next();
          for (int c = 3; c < 6; c++) {
            ColumnVector v = b.column(c);
            for (int r = 0; r < b.numRows(); r++) {
              org.apache.spark.unsafe.types.UTF8String s = v.getUTF8String(r);
              int len = s.numBytes();
              if (at + len > d.length) at = 0;
              s.writeToMemory(d, org.apache.spark.unsafe.Platform.BYTE_ARRAY_OFFSET + at);
              at += len; n += len;
            }
          }
        }
        return List.of(n).iterator();
      }).collect().stream().mapToLong(Long::longValue).sum();
      double s1 = (System.nanoTime() - t0) / 1e9;
      // parquet-mr column readers
      long t1 = System.nanoTime();
      long n2 = 0; int at = 0;
      for (String f : files) {
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(f), conf))) {
          MessageType schema = r.getFooter().getFileMetaData().getSchema();
          MessageType proj = new MessageType(schema.getName(), schema.getType("q"), schema.getType("k"), schema.getType("v"));
          r.setRequestedSchema(proj);
          PageReadStore rg;
          while ((rg = r.readNextRowGroup()) != null) {
            ColumnReadStoreImpl store = new ColumnReadStoreImpl(rg, FirstPackedValue.IGNORED, proj, r.getFooter().getFileMetaData().getCreatedBy());
            for (String c : List.of("q", "k", "v")) {
              ColumnDescriptor desc = proj.getColumnDescription(new String[] {c});
              ColumnReader cr = store.getColumnReader(desc);
              for (long i = cr.getTotalValueCount(); i > 0; i--) {
                if (cr.getCurrentDefinitionLevel() == desc.getMaxDefinitionLevel()) {
                  Binary b = cr.getBinary();
                  java.nio.ByteBuffer bb = b.toByteBuffer();
                  int len = bb.remaining();
                  if (at + len > dst.length) at = 0;
                  bb.get(dst, at, len);
                  at += len; n2 += len;
                }
                cr.consume();
              }
            }
          }
        }
      }
      double s2 = (System.nanoTime() - t1) / 1e9;
      System.out.printf("spark vectorized: %.0f MB in %.2f s = %.0f MB/s; parquet-mr columns: %.0f MB in %.2f s = %.0f MB/s%n",
          bytes / 1e6, s1, bytes / 1e6 / s1, n2 / 1e6, s2, n2 / 1e6 / s2);
    }
  }
}
