package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.*;
import org.apache.spark.sql.*;

/** The job's array<float> output, 1M rows x 128 floats: Spark's Parquet writer against VectorParquetFormat. */
public class FastBench {
  public static void main(String[] a) {
    SparkSession spark = FlashSpark.session("fastbench");
    int blocks = 512, rows = 2048, d = 128;
    List<Row> parts = new ArrayList<>();
    Random rnd = new Random(1);
    for (int b = 0; b < blocks; b++) {
      float[] o = new float[rows * d];
      for (int i = 0; i < o.length; i++) o[i] = (float) rnd.nextGaussian();
      float[] m = new float[rows];
      float[] l = new float[rows];
      Arrays.fill(l, 1f);
      long[] pos = new long[rows];
      for (int i = 0; i < rows; i++) pos[i] = (long) b * rows + i;
      parts.add(new BlockPartial(pos, new Partial(rows, d, o, m, l)).toRow(new BlockKey(new DocHead("doc-0", 0), b), true));
    }
    Dataset<Row> blocksDs = spark.createDataFrame(parts, BlockPartial.SCHEMA).repartition(2).persist();
    blocksDs.count();
    for (int rep = 0; rep < 3; rep++) {
      for (String w : List.of(System.getProperty("variants", "noop,pages,pages-none").split(","))) {
        String out = "/tmp/st/fb-" + w + "-" + rep;
        Dataset<Row> table = OutputTable.fromBlocks(blocksDs, VectorEncoding.valueOf(System.getProperty("format", "ARRAY")));
        long t0 = System.nanoTime();
        if (w.equals("noop")) {
          table.write().format("noop").mode("overwrite").save();
          System.out.printf("noop: %.2f s%n", (System.nanoTime() - t0) / 1e9);
          continue;
        } else if (w.equals("pages-none")) {
          spark.conf().set("spark.sql.parquet.compression.codec", "uncompressed");
          TokenTable.writeParquet(table, out, null);
          spark.conf().unset("spark.sql.parquet.compression.codec");
        } else if (w.equals("spark")) {
          table.write().option("parquet.enable.dictionary#o", "false").option("parquet.column.statistics.enabled#o", "false")
              .option("parquet.enable.dictionary#o.array", "false").option("parquet.column.statistics.enabled#o.array", "false")
              .parquet(out);
        } else if (w.equals("pages")) {
          TokenTable.writeParquet(table, out, null);
        } else {
          spark.conf().set("spark.sql.parquet.writeLegacyFormat", "true");
          table.write().option("parquet.enable.dictionary#o.array", "false").option("parquet.column.statistics.enabled#o.array", "false").parquet(out);
          spark.conf().unset("spark.sql.parquet.writeLegacyFormat");
        }
        double wt = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        Dataset<Row> back = spark.read().parquet(out);
        double sum = System.getProperty("format", "ARRAY").equals("ARRAY")
            ? back.selectExpr("sum(aggregate(o, 0D, (acc, x) -> acc + x))").first().getDouble(0)
            : back.selectExpr("sum(length(o))").first().getLong(0);
        System.out.printf("%s: write %.2f s (%d rows), read back and sum %.2f s (sum %.6f)%n", w, wt,
            back.count(), (System.nanoTime() - t0) / 1e9, sum);
      }
    }
    spark.stop();
  }
}
