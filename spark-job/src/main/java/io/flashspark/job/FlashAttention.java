package io.flashspark.job;

import io.flashspark.attention.Precision;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Exact attention over token Datasets, without files in between: the entry point for notebooks
 * and other jobs, from Java or Scala. {@code score} is this plus reading and writing Parquet.
 *
 * <pre>{@code
 * try (ScoreJob.Prepared r = FlashAttention.of(tokens).causal(true).backend("gpu").run()) {
 *   r.output().write().parquet("attention");      // or show(), join, groupBy, ...
 * }
 * }</pre>
 *
 * <p>{@code tokens} has the documented input schema ({@code doc_id, head, pos, q, k, v}, vectors as
 * {@code array<float>} or packed binary, see README "Tables"); {@link #queries} makes it
 * cross-attention (queries from the second Dataset, keys and values from the first). {@link #run}
 * counts the tokens per block from their keys, plans, and reads and checks every row (bad rows:
 * an {@link InputException} naming document, head, column and position); the returned output
 * ({@code doc_id, head, pos, o, lse}) is lazy: the attention runs when an action asks for it,
 * reading the vectors again as it routes them. Close the result to release what it cached.
 * Options and defaults as {@code score}'s (README "score"), which skips the separate check: there
 * a bad row stops the job as the vectors are routed, before any cell runs.
 */
public final class FlashAttention {
  private final Dataset<Row> tokens;
  private Dataset<Row> queries;
  private boolean causal;
  private int blockSize = ScoreOptions.DEFAULT_BLOCK_SIZE;
  private ScoreOptions.MergeMode merge = ScoreOptions.MergeMode.DISTRIBUTED;
  private String backend = "auto";
  private Precision precision;
  private double scale = Double.NaN;
  private VectorEncoding packed;
  private int cells;
  private long maxKvShardBytes = ScoreOptions.AUTO_MAX_KV_SHARD_BYTES;
  private long maxTaskBytes;
  private VectorEncoding outputFormat = VectorEncoding.ARRAY;
  private int writeTasks = ScoreOptions.AUTO_WRITE_TASKS;
  private Progress progress = Progress.quiet();

  private FlashAttention(Dataset<Row> tokens) {
    this.tokens = tokens;
  }

  /** Attention over {@code tokens}: self-attention, or the keys and values of cross-attention. */
  public static FlashAttention of(Dataset<Row> tokens) {
    if (tokens == null) {
      throw new InputException("FlashAttention.of: tokens must not be null");
    }
    return new FlashAttention(tokens);
  }

  /** Cross-attention: queries ({@code doc_id, head, pos, q}) from this Dataset. */
  public FlashAttention queries(Dataset<Row> queryTokens) {
    this.queries = queryTokens;
    return this;
  }

  /** Key at position p visible to the query at position t iff p <= t (default false). */
  public FlashAttention causal(boolean on) {
    this.causal = on;
    return this;
  }

  public FlashAttention blockSize(int positions) {
    this.blockSize = positions;
    return this;
  }

  /** {@code distributed} (default) or {@code driver}. */
  public FlashAttention merge(String mode) {
    this.merge = choice("merge", mode, List.of("driver", "distributed")).equals("driver")
        ? ScoreOptions.MergeMode.DRIVER : ScoreOptions.MergeMode.DISTRIBUTED;
    return this;
  }

  /** {@code auto} (default), {@code cpu} or {@code gpu}. */
  public FlashAttention backend(String name) {
    this.backend = choice("backend", name, List.of("auto", "cpu", "gpu"));
    return this;
  }

  /** Input precision {@code fp32}, {@code bf16} or {@code fp16}; default the backend's (fp32 CPU, bf16 GPU). */
  public FlashAttention precision(String name) {
    this.precision = Precision.parse(choice("precision", name, List.of("fp32", "bf16", "fp16")));
    return this;
  }

  /** Softmax scale; default 1/sqrt(d). */
  public FlashAttention scale(double x) {
    this.scale = x;
    return this;
  }

  /** How binary vector columns are encoded when the table does not record it: fp32, fp16 or bf16. */
  public FlashAttention packed(String encoding) {
    this.packed = VectorEncoding.parse(choice("packed", encoding, List.of("fp32", "fp16", "bf16")));
    return this;
  }

  /** Cells the planner aims for (default: from the cluster, see README "--cells"). */
  public FlashAttention cells(int count) {
    this.cells = positive("cells", count);
    return this;
  }

  public FlashAttention maxKvShardMb(long mb) {
    this.maxKvShardBytes = positive("maxKvShardMb", mb) << 20;
    return this;
  }

  public FlashAttention maxTaskMb(long mb) {
    this.maxTaskBytes = positive("maxTaskMb", mb) << 20;
    return this;
  }

  /** {@code o} as {@code array} (default), or packed {@code fp32} / {@code bf16}. */
  public FlashAttention outputFormat(String format) {
    this.outputFormat = OutputTable.parseFormat(choice("outputFormat", format, List.of("array", "fp32", "bf16")));
    return this;
  }

  /** Tasks that turn partials into output rows; 0: the cells' own (default: decided by the plan). */
  public FlashAttention writeTasks(int tasks) {
    if (tasks < 0) {
      throw new InputException("writeTasks must be 0 or more, got " + tasks);
    }
    this.writeTasks = tasks;
    return this;
  }

  /** Progress lines (reading, plan, cells, attention done) to {@code out}; default none. */
  public FlashAttention progress(PrintStream out) {
    this.progress = new Progress(out);
    return this;
  }

  /** Counts, plans, reads and checks every row; the output is computed when an action asks for it. */
  public ScoreJob.Prepared run() {
    ScoreOptions options = new ScoreOptions("tokens", null, queries == null ? null : "queries", causal, blockSize,
        merge, backend, precision, scale, packed, cells, maxKvShardBytes, maxTaskBytes, false, outputFormat,
        writeTasks);
    ScoreJob.Prepared prepared = new ScoreJob(tokens.sparkSession(), options, progress).prepare(tokens, "tokens",
        queries, "queries");
    try {
      return prepared.validate();
    } catch (RuntimeException e) {
      prepared.close();
      throw e;
    }
  }

  private static String choice(String option, String value, List<String> allowed) {
    String v = value == null ? "" : value.toLowerCase(Locale.ROOT);
    if (!allowed.contains(v)) {
      throw new InputException(option + ": expected one of " + String.join(", ", allowed) + ", got '" + value + "'");
    }
    return v;
  }

  private static <T extends Number> T positive(String option, T value) {
    if (value.longValue() < 1) {
      throw new InputException(option + " must be positive, got " + value);
    }
    return value;
  }
}
