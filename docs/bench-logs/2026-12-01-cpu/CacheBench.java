package io.flashspark.job;

import org.apache.spark.sql.*;
import org.apache.spark.storage.StorageLevel;

/** Pack + cache + stats (first pass), then a routing-like shuffle of the cached fragments (second pass). */
public class CacheBench {
  public static void main(String[] a) {
    SparkSession spark = FlashSpark.session("cachebench");
    String[] levels = a[1].split(",");
    for (int rep = 0; rep < 2; rep++) {
      for (String name : levels) {
        StorageLevel level = StorageLevel.fromString(name);
        try (DiskCache c = new DiskCache()) {
          long t0 = System.nanoTime();
          Fragments.Table t = Fragments.pack(spark.read().parquet(a[0]), a[0], TableRole.SELF, null, 2048, null);
          Dataset<Row> rows = c.keep(t.rows(), level);
          BlockStats s = BlockStats.of(rows, null, a[0]);
          long t1 = System.nanoTime();
          long n = rows.repartition(8, functions.col("block")).selectExpr("sum(length(kv) + length(q))").first().getLong(0);
          long t2 = System.nanoTime();
          System.out.printf("%s %-16s pack+cache+stats %.2f s; shuffle of the cache %.2f s (%d blocks, %d bytes)%n",
              spark.conf().get("spark.shuffle.compress", "true"), name, (t1 - t0) / 1e9, (t2 - t1) / 1e9, s.blocks().size(), n);
        }
      }
    }
    spark.stop();
  }
}
