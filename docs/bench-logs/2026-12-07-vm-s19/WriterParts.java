package io.flashspark.job;

import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeArrayWriter;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;
import org.apache.spark.sql.types.*;
import org.apache.spark.unsafe.types.UTF8String;

/** Per-row cost of VectorParquetFormat.Writer by column set: o only, keys only, all. */
public class WriterParts {
  public static void main(String[] a) throws Exception {
    int n = 1 << 20, dim = 128;
    boolean random = a.length > 0 && a[0].equals("random");
    float[] o = new float[2048 * dim];
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
    for (int i = 0; i < o.length; i++) o[i] = random ? (float) rnd.nextGaussian() : (float) Math.sin(i % dim);
    StructType all = OutputTable.schema(VectorEncoding.ARRAY);
    String[][] sets = {{"o"}, {"doc_id", "head", "pos", "lse"}, {"doc_id", "head", "pos", "o", "lse"}, {"doc_id"}, {"head", "pos"}};
    for (int rep = 0; rep < 5; rep++) {
      for (String[] cols : sets) {
        StructType schema = new StructType();
        for (String c : cols) schema = schema.add(all.apply(c));
        UnsafeRowWriter w = new UnsafeRowWriter(cols.length, 1024);
        UnsafeArrayWriter arr = new UnsafeArrayWriter(w, 4);
        UTF8String doc = UTF8String.fromString("doc-00000");
        String path = "/tmp/scratch/wp-" + String.join("-", cols) + ".parquet";
        new java.io.File(path).delete();
        new java.io.File("/tmp/scratch/.wp-" + String.join("-", cols) + ".parquet.crc").delete();
        long t0 = System.nanoTime();
        VectorParquetFormat.Writer out = new VectorParquetFormat.Writer(path, schema,
            org.apache.parquet.hadoop.metadata.CompressionCodecName.SNAPPY, 128L << 20, 1 << 20, new org.apache.hadoop.conf.Configuration());
        for (int r = 0; r < n; r++) {
          w.reset(); w.zeroOutNullBytes();
          for (int c = 0; c < cols.length; c++) {
            switch (cols[c]) {
              case "doc_id" -> w.write(c, doc);
              case "head" -> w.write(c, 3);
              case "pos" -> w.write(c, (long) r);
              case "lse" -> w.write(c, 1.5f + r);
              case "o" -> { int start = w.cursor(); arr.initialize(dim); int base = (r & 2047) * dim; for (int i = 0; i < dim; i++) arr.write(i, o[base + i]); w.setOffsetAndSizeFromPreviousCursor(c, start); }
            }
          }
          out.write(w.getRow());
        }
        out.close();
        double s = (System.nanoTime() - t0) / 1e9;
        if (rep >= 3) System.out.printf("%-28s %.3f us/row%n", String.join(",", cols), s * 1e6 / n);
      }
    }
  }
}
