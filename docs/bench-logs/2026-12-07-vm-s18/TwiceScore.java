package io.flashspark.job;

/** The same score twice in one JVM: the second run shows what a warm JVM costs. */
public class TwiceScore {
  public static void main(String[] a) throws Exception {
    org.apache.spark.sql.SparkSession spark = FlashSpark.session("score");
    for (int i = 0; i < Integer.parseInt(a[2]); i++) {
      String out = a[1] + "-" + i;
      ScoreOptions o = new ScoreOptions(a[0], out, null, true, ScoreOptions.DEFAULT_BLOCK_SIZE, ScoreOptions.MergeMode.DISTRIBUTED,
          "cpu", io.flashspark.attention.Precision.BF16, Double.NaN, null, 0, ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES, 0, true,
          VectorEncoding.ARRAY, ScoreOptions.AUTO_WRITE_TASKS);
      long t0 = System.nanoTime();
      ScoreJob.Result r = FlashSpark.score(spark, o, System.out, System.err);
      System.out.printf("run %d: %.2f s%n", i, (System.nanoTime() - t0) / 1e9);
    }
  }
}
