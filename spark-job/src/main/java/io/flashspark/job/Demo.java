package io.flashspark.job;

import io.flashspark.attention.Precision;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code demo}: the README's first command. Generates synthetic long documents, scores them
 * causally with the distributed merge, checks sample (doc, head)s against the float64 reference
 * and prints a summary.
 */
final class Demo {
  private Demo() {}

  static int run(Args a, PrintStream out, PrintStream err) {
    int docs = a.getInt("docs", 2);
    long tokens = a.getLong("tokens", 16384);
    int heads = a.getInt("heads", 4);
    int dim = a.getInt("dim", 64);
    String backend = a.choice("backend", "auto", List.of("auto", "cpu", "gpu"), b -> b);
    Path work;
    try {
      work = a.get("work", null) != null ? Path.of(a.get("work", null)) : Files.createTempDirectory("flashspark-demo");
    } catch (IOException e) {
      throw new InputException("cannot create a work directory: " + e.getMessage());
    }
    String input = work.resolve("tokens").toString();
    String output = work.resolve("attention").toString();
    SparkSession spark = FlashSpark.session("demo");
    out.printf("flashspark demo: %d docs x %d heads x %d tokens, d=%d, causal; Spark %s, %d cores (%s)%n", docs, heads,
        tokens, dim, spark.version(), spark.sparkContext().defaultParallelism(), spark.sparkContext().master());
    SyntheticTokens.generate(spark, docs, tokens, heads, dim, 7, VectorEncoding.FP32)
        .write().mode("overwrite").parquet(input);
    ScoreOptions options = new ScoreOptions(input, output, null, true, ScoreOptions.DEFAULT_BLOCK_SIZE,
        ScoreOptions.MergeMode.DISTRIBUTED, backend, null, Double.NaN, VectorEncoding.FP32, 0,
        ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES, true);
    ScoreJob.Result result = FlashSpark.score(spark, options, out, err);

    Dataset<Row> in = spark.read().parquet(input);
    boolean lowPrecision = !result.backends().stream().allMatch(b -> b.endsWith(Precision.FP32.label()));
    Precision checkedAs = lowPrecision ? Precision.BF16 : Precision.FP32;
    boolean ok = CheckCommand.check(in, in, spark.read().parquet(output), options.spec().withPrecision(checkedAs),
        VectorEncoding.FP32, 2, 2048, CheckCommand.defaultTolerance(checkedAs), out);
    out.printf("data in %s%n", work);
    return ok ? 0 : 1;
  }
}
