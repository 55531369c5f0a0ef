package io.flashspark.job;

import io.flashspark.attention.Precision;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import io.flashspark.attention.TiledAttention;
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

  /** Marks a work directory as the demo's own, so a rerun may replace what is inside. */
  static final String MARKER = ".flashspark-demo";
  private static final Set<String> OWN = Set.of(MARKER, "tokens", "attention");

  static int run(int docs, long tokens, int heads, int dim, String backend, String workDir, PrintStream out,
      PrintStream err) {
    boolean keep = workDir != null;
    Path work = keep ? claim(Path.of(workDir)) : temporary();
    try {
      return demo(work, docs, tokens, heads, dim, backend, keep, out, err);
    } finally {
      if (!keep) {
        OutputPaths.deleteLocalTree(work, e -> { });
      }
    }
  }

  private static int demo(Path work, int docs, long tokens, int heads, int dim, String backend, boolean keep,
      PrintStream out, PrintStream err) {
    String input = work.resolve("tokens").toString();
    String output = work.resolve("attention").toString();
    SparkSession spark = FlashSpark.session("demo");
    out.printf("flashspark demo: %d docs x %d heads x %d tokens, d=%d, causal; Spark %s, %d cores (%s)%n", docs, heads,
        tokens, dim, spark.version(), spark.sparkContext().defaultParallelism(), spark.sparkContext().master());
    try (OutputPaths.Staged staged = OutputPaths.stage(TokenTable.hadoopConf(spark), input, true)) {
      TokenTable.writeParquet(SyntheticTokens.generate(spark, docs, tokens, heads, dim, 7, VectorEncoding.FP32),
          staged.path(), null);
      staged.commit();
    }
    ScoreOptions options = new ScoreOptions(input, output, null, true, ScoreOptions.DEFAULT_BLOCK_SIZE,
        ScoreOptions.MergeMode.DISTRIBUTED, backend, null, Double.NaN, null, 0,
        ScoreOptions.AUTO_MAX_KV_SHARD_BYTES, 0, true, null, ScoreOptions.AUTO_WRITE_TASKS);
    ScoreJob.Result result = FlashSpark.score(spark, options, out, err);

    Dataset<Row> in = spark.read().parquet(input);
    Precision checkedAs = CheckCommand.computedIn(result.backends());
    boolean ok = CheckCommand.check(in, in, spark.read().parquet(output), options.spec().withPrecision(checkedAs),
        null, 2, 2048, CheckCommand.defaultTolerance(checkedAs), out);
    out.println(keep ? "data in " + work : "temporary data deleted (keep it with --work DIR)");
    return ok ? FlashSpark.EXIT_OK : FlashSpark.EXIT_FAILED;
  }

  /**
   * A work directory the demo may write into: new, empty, or holding only what an earlier demo
   * created there (it carries the marker). Anything else is refused, so no user data is replaced.
   */
  static Path claim(Path work) {
    try {
      if (Files.exists(work)) {
        if (!Files.isDirectory(work)) {
          throw new InputException("--work '" + work + "' is a file, not a directory");
        }
        List<String> foreign = new ArrayList<>();
        boolean marked = Files.exists(work.resolve(MARKER));
        try (Stream<Path> entries = Files.list(work)) {
          entries.map(p -> p.getFileName().toString())
              .filter(n -> !marked || !(OWN.contains(n) || n.startsWith(".tokens.") || n.startsWith(".attention.")))
              .sorted().forEach(foreign::add);
        }
        if (!foreign.isEmpty()) {
          throw new InputException("--work '" + work + "' holds " + (marked ? "" : "files the demo did not create: ")
              + String.join(", ", foreign.subList(0, Math.min(5, foreign.size())))
              + (foreign.size() > 5 ? ", ..." : "") + "; the demo replaces what it writes there, so give it a new or"
              + " empty directory");
        }
      }
      Files.createDirectories(work);
      Files.writeString(work.resolve(MARKER), "written by flashspark demo; tokens/ and attention/ are replaced by"
          + " the next demo run here\n");
      return work;
    } catch (IOException e) {
      throw new InputException("cannot use --work '" + work + "': " + e.getMessage());
    }
  }

  private static Path temporary() {
    try {
      return Files.createTempDirectory("flashspark-demo");
    } catch (IOException e) {
      throw new IllegalStateException("cannot create a temporary work directory: " + e.getMessage(), e);
    }
  }
}
