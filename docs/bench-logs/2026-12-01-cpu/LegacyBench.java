package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.*;
import org.apache.spark.sql.*;

/** array<float> output written in Parquet's standard 3-level LIST layout vs the legacy 2-level one. */
public class LegacyBench {
  public static void main(String[] a) {
    SparkSession spark = FlashSpark.session("legacybench");
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
      for (String variant : List.of("false-on", "true-on", "false-off", "true-off")) {
        String legacy = variant.split("-")[0];
        spark.conf().set("spark.sql.parquet.writeLegacyFormat", legacy);
        String out = "/tmp/wl/out-" + variant + "-" + rep;
        long t0 = System.nanoTime();
        TokenTable.parquetWriter(OutputTable.fromBlocks(blocksDs, VectorEncoding.ARRAY))
            .option("parquet.size.statistics.enabled", variant.endsWith("on") ? "true" : "false").parquet(out);
        double w = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        Dataset<Row> back = spark.read().parquet(out);
        double sum = back.selectExpr("sum(aggregate(o, 0D, (acc, x) -> acc + x))").first().getDouble(0);
        System.out.printf("legacy-sizestats=%s: write %.2f s (%d rows), read back and sum %.2f s (sum %.6f)%n", variant, w,
            back.count(), (System.nanoTime() - t0) / 1e9, sum);
      }
    }
    spark.stop();
  }
}
