package io.flashspark.job;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KernelBench;
import io.flashspark.attention.Precision;
import io.flashspark.attention.TiledAttention;
import io.flashspark.cli.Cli;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The command line ({@code bin/flashspark}, or {@code spark-submit} with this main class, which sets
 * the master): {@code generate}, {@code score}, {@code check}, {@code bench}, {@code demo} and {@code sql},
 * parsed by picocli; {@code flashspark <command> --help} lists each one's options with defaults.
 * Exit codes: 0 ok, 1 failure (I/O, cluster, out of memory, check mismatch), 2 bad arguments or input.
 */
@Command(name = "flashspark", mixinStandardHelpOptions = true, versionProvider = FlashSpark.Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = "Exact attention over very long sequences, as a Spark job.",
    subcommands = {FlashSpark.GenerateCli.class, FlashSpark.ScoreCli.class, FlashSpark.CheckCli.class, FlashSpark.BenchCli.class,
        FlashSpark.DemoCli.class, FlashSpark.SqlCli.class, CommandLine.HelpCommand.class},
    footer = {"", "Exit codes: 0 ok, 1 failure (I/O, cluster, out of memory, check mismatch), 2 bad arguments or input.",
        "Spark settings: -Dspark.* in FLASHSPARK_JAVA_OPTS (bin/flashspark), or spark-submit --conf."})
public final class FlashSpark implements Runnable {
  /** Exit codes, as the README lists them. */
  public static final int EXIT_OK = Cli.EXIT_OK;
  /** Any failure that is not the user's input: I/O, cluster, out of memory, a check that found a mismatch. */
  public static final int EXIT_FAILED = Cli.EXIT_FAILED;
  /** Bad arguments or bad input, reported before anything is written. */
  public static final int EXIT_BAD_INPUT = Cli.EXIT_BAD_INPUT;

  private static final Logger LOG = LogManager.getLogger(FlashSpark.class);

  @Spec CommandSpec spec;

  @Option(names = "--verbose", scope = ScopeType.INHERIT,
      description = "Spark's warnings on the console, and a failure's stack trace.")
  boolean verbose;

  private PrintStream out = System.out;
  private PrintStream err = System.err;

  private FlashSpark() {}

  /** No command given: the usage, and exit 2. */
  @Override
  public void run() {
    spec.commandLine().usage(err);
    throw new ParameterException(spec.commandLine(), "a command is required");
  }

  public static void main(String[] args) {
    PrintStream console = System.err;
    // on Ctrl-C or SIGTERM Spark's threads die mid-flight and some print stack traces straight to
    // System.err (a RejectedExecutionException from a pool shutting down): from the moment the
    // shutdown starts they go to the log, and the console keeps our one line
    org.apache.hadoop.util.ShutdownHookManager.get().addShutdownHook(
        () -> System.setErr(new PrintStream(new LogLines(), true)), Integer.MAX_VALUE);
    int code = run(args, System.out, console);
    // stopped here, not by Spark's shutdown hook: there, on a standalone cluster, the app client's
    // last RPCs race the closing thread pools and print a RejectedExecutionException trace
    SparkSession.getDefaultSession().foreach(session -> {
      session.stop();
      return null;
    });
    System.exit(code);
  }

  /** Text written to it, a line at a time, as warnings in the log. */
  private static final class LogLines extends java.io.OutputStream {
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

    @Override public synchronized void write(int b) {
      if (b == '\n') {
        LOG.warn("(stderr during shutdown) {}", line.toString(java.nio.charset.StandardCharsets.UTF_8));
        line.reset();
      } else {
        line.write(b);
      }
    }
  }

  /**
   * Runs one command; returns the process exit code. Every failure is one line on {@code err}
   * (the stack trace goes to the log, and to {@code err} as well with {@code --verbose}).
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    FlashSpark top = new FlashSpark();
    top.out = out;
    top.err = err;
    CommandLine cl = Cli.commandLine(top, out, err);
    cl.setExecutionExceptionHandler((e, where, parsed) -> top.failed(e, where.getCommandName(), err));
    return cl.execute(args);
  }

  /** A command's failure as one line and an exit code: 2 for bad input, 1 for anything else. */
  private int failed(Exception e, String command, PrintStream err) {
    if (org.apache.hadoop.util.ShutdownHookManager.get().isShutdownInProgress()) {
      err.println("flashspark: interrupted; the output was not written");
      return EXIT_FAILED; // the JVM's exit code is the signal's (130, 143)
    }
    InputException input = inputCause(e);
    String message = input != null ? "error: " + input.getMessage() : "failed: " + Failures.describe(e);
    if (input != null) {
      LOG.warn("flashspark {} {}", command, message);
    } else {
      LOG.error("flashspark " + command + " " + message, e);
    }
    err.println("flashspark: " + message);
    if (verbose) {
      e.printStackTrace(err);
    } else if (input == null) {
      String log = System.getProperty("flashspark.log.file");
      err.println("flashspark: the stack trace is in " + (log != null ? log : "the log") + " (or rerun with --verbose)");
    }
    return input != null ? EXIT_BAD_INPUT : EXIT_FAILED;
  }

  /**
   * Out of memory and a missing native library are failures of the command, not of the JVM:
   * reported like any other (one line, exit 1), not as an uncaught error's stack trace.
   */
  private static <T> T reportingErrors(Callable<T> work) throws Exception {
    try {
      return work.call();
    } catch (OutOfMemoryError e) {
      throw new IllegalStateException("out of memory (" + e.getMessage() + ")", e);
    } catch (LinkageError e) {
      throw new IllegalStateException(e.getClass().getSimpleName() + ": " + e.getMessage(), e);
    }
  }

  /** Options every Spark command shares: where its output and console go. */
  abstract static class SparkCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.ParentCommand FlashSpark top;

    @Override
    public final Integer call() throws Exception {
      return reportingErrors(() -> run(top.out, top.err));
    }

    abstract int run(PrintStream out, PrintStream err) throws Exception;
  }

  @Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
      description = "Write a synthetic token table (q, k, v standard normal).")
  static final class GenerateCli extends SparkCommand {
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where the table goes.")
    String output;
    @Option(names = "--docs", defaultValue = "1", description = "Documents.") int docs;
    @Option(names = "--tokens", defaultValue = "4096", converter = Cli.Count.class,
        description = "Tokens per document (e.g. 4096, 64k, 1m).") long tokens;
    @Option(names = "--heads", defaultValue = "1", description = "Heads per document.") int heads;
    @Option(names = "--dim", defaultValue = "64", paramLabel = "d", description = "Head dimension.") int dim;
    @Option(names = "--seed", defaultValue = "1", description = "Random seed.") long seed;
    @Option(names = "--packed", defaultValue = "array", paramLabel = "array|fp32|fp16|bf16",
        description = "How q, k, v are stored: array<float> columns or packed binary.") String packed;
    @Option(names = "--overwrite", description = "Replace an existing output (never an input).") boolean overwrite;

    @Override
    int run(PrintStream out, PrintStream err) {
      Cli.inRange(spec, "--docs", docs, 1, Integer.MAX_VALUE);
      Cli.inRange(spec, "--tokens", tokens, 1, Long.MAX_VALUE);
      Cli.inRange(spec, "--heads", heads, 1, Integer.MAX_VALUE);
      Cli.inRange(spec, "--dim", dim, 1, TiledAttention.MAX_DIM);
      VectorEncoding encoding = VectorEncoding.parse(Cli.oneOf(spec, "--packed", packed,
          List.of("array", "fp32", "fp16", "bf16")));
      SparkSession spark = session("generate");
      long start = System.currentTimeMillis();
      try (OutputPaths.Staged staged = OutputPaths.stage(TokenTable.hadoopConf(spark), output,
          overwrite)) {
        TokenTable.writeParquet(SyntheticTokens.generate(spark, docs, tokens, heads, dim, seed, encoding), staged.path(),
            null);
        staged.commit();
      }
      out.printf("generated %d docs x %d heads x %d tokens (d=%d, %s) into %s in %.1fs%n", docs, heads, tokens, dim,
          encoding.name().toLowerCase(Locale.ROOT), output, (System.currentTimeMillis() - start) / 1000.0);
      return EXIT_OK;
    }
  }

  /** The options {@code score} and {@code check} share: what the inputs are and how attention was asked for. */
  static final class InputOptions {
    @Option(names = "--input", required = true, paramLabel = "DIR",
        description = "The token table (keys and values; also the queries unless --queries).")
    String input;
    @Option(names = "--queries", paramLabel = "DIR",
        description = "A separate query table (cross-attention); same documents and heads as --input.")
    String queries;
    @Option(names = "--causal", description = "Each query attends to keys at positions <= its own.")
    boolean causal;
    @Option(names = "--scale", paramLabel = "x", description = "Softmax scale. Default: 1/sqrt(d).")
    Double scale;
    @Option(names = "--packed", paramLabel = "fp32|fp16|bf16", description = "How a table that does not record its"
        + " encoding is packed (tables written by generate record it).")
    String packed;

    VectorEncoding packedAs(CommandSpec spec) {
      String p = Cli.oneOf(spec, "--packed", packed, List.of("fp32", "fp16", "bf16"));
      return p == null ? null : VectorEncoding.parse(p);
    }
  }

  @Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
      description = "Exact attention for every query token of every document.")
  static final class ScoreCli extends SparkCommand {
    @Mixin InputOptions in;
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where o and lse go.")
    String output;
    @Option(names = "--block-size", paramLabel = "T", defaultValue = "" + ScoreOptions.DEFAULT_BLOCK_SIZE,
        description = "Tokens per block (the unit of routing and merging).") int blockSize;
    @Option(names = "--merge", paramLabel = "driver|distributed", defaultValue = "distributed",
        description = "Where partials of a query block are combined.") String merge;
    @Option(names = "--backend", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
        description = "Attention kernels: auto takes the GPU when one is usable.") String backend;
    @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", converter = Cli.PrecisionName.class,
        description = "Compute precision. Default: fp32 on the CPU, bf16 on the GPU.") Precision precision;
    @Option(names = "--cells", paramLabel = "C", description = "Cells (tasks computing attention). Default: one per"
        + " task slot on the CPU; on the GPU " + ClusterShape.CELLS_PER_GPU + " per GPU, and one per (doc, head) at least.") Integer cells;
    @Option(names = "--max-kv-shard-mb", paramLabel = "MB", description = "Largest key/value shard one cell holds"
        + " (k and v counted in fp32). Default: " + (ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES >> 20) + " on the CPU; on"
        + " the GPU, what the task memory allows (K/V stay packed, on the device).") Long maxKvShardMb;
    @Option(names = "--max-task-mb", paramLabel = "MB", description = "Memory a cell may use. Default: from the"
        + " executors' heap.") Long maxTaskMb;
    @Option(names = "--output-format", paramLabel = "array|fp32|bf16", defaultValue = "array",
        description = "o as array<float>, or packed little-endian binary.") String outputFormat;
    @Option(names = "--write-tasks", paramLabel = "W", description = "Tasks writing the output; 0: the cells' own."
        + " Default: every task slot when the cells are at most a quarter of the slots, else the cells.") Integer writeTasks;
    @Option(names = "--overwrite", description = "Replace an existing output (never an input).") boolean overwrite;
    @Option(names = "--explain", description = "Print Spark's physical plan of the job (which operators run where;"
        + " with the RAPIDS Accelerator, which run on the GPU) before computing it.") boolean explain;

    ScoreOptions options() {
      return new ScoreOptions(in.input, output, in.queries, in.causal,
          (int) Cli.inRange(spec, "--block-size", blockSize, 1, ScoreOptions.MAX_BLOCK_SIZE),
          ScoreOptions.MergeMode.valueOf(Cli.oneOf(spec, "--merge", merge, List.of("driver", "distributed"))
              .toUpperCase(Locale.ROOT)),
          Cli.oneOf(spec, "--backend", backend, List.of("auto", "cpu", "gpu")), precision,
          Cli.positive(spec, "--scale", in.scale), in.packedAs(spec),
          cells == null ? 0 : (int) Cli.inRange(spec, "--cells", cells, 1, Integer.MAX_VALUE),
          maxKvShardMb == null ? ScoreOptions.AUTO_MAX_KV_SHARD_BYTES
              : Cli.inRange(spec, "--max-kv-shard-mb", maxKvShardMb, 1, 1L << 30) << 20,
          maxTaskMb == null ? 0 : Cli.inRange(spec, "--max-task-mb", maxTaskMb, 16, 1L << 30) << 20,
          overwrite,
          OutputTable.parseFormat(Cli.oneOf(spec, "--output-format", outputFormat, List.of("array", "fp32", "bf16"))),
          writeTasks == null ? ScoreOptions.AUTO_WRITE_TASKS
              : (int) Cli.inRange(spec, "--write-tasks", writeTasks, 0, Integer.MAX_VALUE));
    }

    @Override
    int run(PrintStream out, PrintStream err) {
      ScoreOptions options = options();
      score(session("score"), options, explain, out, err);
      return EXIT_OK;
    }
  }

  @Command(name = "check", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
      description = {"Compare a score output with the float64 reference.",
          "Every query row must be present once, and R rows in each of K (doc, head)s within the tolerance."})
  static final class CheckCli extends SparkCommand {
    @Mixin InputOptions in;
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The score output to check.")
    String output;
    @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", defaultValue = "fp32",
        converter = Cli.PrecisionName.class, description = "The precision the inputs were rounded to.")
    Precision precision;
    @Option(names = "--doc-heads", paramLabel = "K", defaultValue = "2", description = "(doc, head)s checked.")
    int docHeads;
    @Option(names = "--rows", paramLabel = "R", defaultValue = "256", description = "Rows checked per (doc, head).")
    int rows;
    @Option(names = "--tolerance", paramLabel = "t",
        description = "Largest |o - ref| and |lse - ref|. Default: 1e-4 for fp32, 2e-2 for 16-bit inputs.")
    Double tolerance;

    @Override
    int run(PrintStream out, PrintStream err) {
      AttentionSpec attention = new AttentionSpec(Cli.positive(spec, "--scale", in.scale), in.causal, precision);
      double t = Cli.positive(spec, "--tolerance", tolerance);
      return CheckCommand.run(in.input, output, in.queries, attention, in.packedAs(spec),
          (int) Cli.inRange(spec, "--doc-heads", docHeads, 1, Integer.MAX_VALUE),
          (int) Cli.inRange(spec, "--rows", rows, 1, Integer.MAX_VALUE),
          Double.isNaN(t) ? CheckCommand.defaultTolerance(precision) : t, out) ? EXIT_OK : EXIT_FAILED;
    }
  }

  @Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Time the attention kernels (checked first), or run a benchmark sweep.",
          "Without --sweep: the kernel launched from Java (no Spark) over a grid of sizes, each checked against the"
              + " float64 reference first. With --sweep: a checked sweep of the kernels and/or the job, with a table,"
              + " results.json and PNG plots."})
  static final class BenchCli extends SparkCommand {
    @Mixin KernelBench.Options kernels;
    @Option(names = "--sweep", paramLabel = "smoke|kernels|job", description = "A sweep instead of one grid: smoke"
        + " (about a minute on 2 cores without a GPU), kernels, or job.") String sweep;
    @Option(names = "--output", paramLabel = "DIR", description = "Where a sweep writes results.json,"
        + " kernels.png and job-stages.png (required with --sweep).") String output;

    @Override
    int run(PrintStream out, PrintStream err) throws java.io.IOException {
      if (sweep == null) {
        if (output != null) {
          throw new ParameterException(spec.commandLine(), "--output is for --sweep; the kernel grid writes --json");
        }
        return KernelBench.run(kernels, out, err);
      }
      Cli.oneOf(spec, "--sweep", sweep, List.of("smoke", "kernels", "job"));
      Cli.oneOf(spec, "--backend", kernels.backend, List.of("auto", "cpu", "gpu"));
      if (output == null) {
        throw new ParameterException(spec.commandLine(), "--sweep needs --output DIR");
      }
      return BenchSweep.run(sweep, Path.of(output), kernels.backend, out);
    }
  }

  @Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
      description = {"Generate, score (causal) and check synthetic documents.",
          "Sample rows are checked against the float64 reference; a summary is printed."})
  static final class DemoCli extends SparkCommand {
    @Option(names = "--docs", defaultValue = "2", description = "Documents.") int docs;
    @Option(names = "--tokens", defaultValue = "16384", converter = Cli.Count.class,
        description = "Tokens per document.") long tokens;
    @Option(names = "--heads", defaultValue = "4", description = "Heads per document.") int heads;
    @Option(names = "--dim", defaultValue = "64", paramLabel = "d", description = "Head dimension.") int dim;
    @Option(names = "--backend", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
        description = "Attention kernels.") String backend;
    @Option(names = "--work", paramLabel = "DIR", description = "Keep the data there (new, empty or an earlier"
        + " demo's). Default: a temporary directory, deleted.") String work;

    @Override
    int run(PrintStream out, PrintStream err) {
      return Demo.run(
          (int) Cli.inRange(spec, "--docs", docs, 1, Integer.MAX_VALUE),
          Cli.inRange(spec, "--tokens", tokens, 1, Long.MAX_VALUE),
          (int) Cli.inRange(spec, "--heads", heads, 1, Integer.MAX_VALUE),
          (int) Cli.inRange(spec, "--dim", dim, 1, TiledAttention.MAX_DIM),
          Cli.oneOf(spec, "--backend", backend, List.of("auto", "cpu", "gpu")), work, out, err);
    }
  }

  @Command(name = "sql", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
      description = {"Run one SQL query with flashspark's functions (flash_attention, attention_merge: docs/sql.md)"
          + " over Parquet tables.",
          "Prints the first rows, or writes the result as Parquet with --output. With the RAPIDS Accelerator"
              + " (FLASHSPARK_RAPIDS_JAR) flash_attention runs on the GPU."})
  static final class SqlCli extends SparkCommand {
    @picocli.CommandLine.Parameters(index = "0", paramLabel = "QUERY", description = "The query, e.g."
        + " \"SELECT id, flash_attention(q, keys, values) AS r FROM t\".") String query;
    @Option(names = "--table", paramLabel = "NAME=DIR", description = "A Parquet table the query reads as NAME"
        + " (repeat for several).") java.util.Map<String, String> tables = new java.util.LinkedHashMap<>();
    @Option(names = "--output", paramLabel = "DIR", description = "Write the result there as Parquet.") String output;
    @Option(names = "--overwrite", description = "Replace an existing output (never an input).") boolean overwrite;
    @Option(names = "--show", paramLabel = "N", defaultValue = "20", description = "Rows printed without --output.")
    int show;
    @Option(names = "--explain", description = "Print Spark's physical plan first (with the RAPIDS Accelerator:"
        + " which operators run on the GPU).") boolean explain;

    @Override
    int run(PrintStream out, PrintStream err) throws Exception {
      Cli.inRange(spec, "--show", show, 0, Integer.MAX_VALUE);
      SqlCommand.run(session("sql"), query, tables, output, overwrite, show, explain, out);
      return EXIT_OK;
    }
  }

  /** {@code --version}: the jar's version. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = FlashSpark.class.getPackage().getImplementationVersion();
      return new String[] {"flashspark " + (v != null ? v : "(development build)")};
    }
  }

  /** Our own input errors, also when Spark wrapped one thrown on an executor, and files that are not Parquet. */
  static InputException inputCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof InputException) {
        return (InputException) t;
      }
    }
    return Failures.isNotParquet(e) ? new InputException("an input file is not Parquet: " + Failures.firstLine(e))
        : null;
  }

  static SparkSession session(String app) {
    SparkConf conf = new SparkConf(); // -Dspark.* system properties, and spark-submit's settings
    if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]"); // bin/flashspark: Spark embedded; spark-submit sets the master
    }
    ScratchDirs.configure(conf, conf.get("spark.master"));
    return SparkSession.builder().appName("flashspark " + app).config(conf).getOrCreate();
  }

  static ScoreJob.Result score(SparkSession spark, ScoreOptions options, PrintStream out, PrintStream err) {
    return score(spark, options, false, out, err);
  }

  /** {@code score}: the job, then its summary on {@code out}; {@code explain}: the physical plan first. */
  static ScoreJob.Result score(SparkSession spark, ScoreOptions options, boolean explain, PrintStream out,
      PrintStream err) {
    Progress progress = new Progress(err);
    spark.sparkContext().addSparkListener(progress);
    try {
      ScoreJob job = new ScoreJob(spark, options, progress);
      ScoreJob.Result r = (explain ? job.explainTo(out) : job).run();
      double seconds = r.millis() / 1000.0;
      out.printf("scored %d query rows against %d key rows (d=%d%s) in %.2fs -> %s%n", r.queryRows(), r.keyRows(),
          r.dim(), options.causal() ? ", causal" : "", seconds, options.output());
      out.printf("  backend: %s; merge: %s; block size %d; %s%n", String.join(", ", r.backends()),
          options.merge().name().toLowerCase(Locale.ROOT), options.blockSize(), r.plan().description());
      out.printf("  %.3g query-key pairs, %.2f GFLOP/s end to end (4*d FLOP per pair); attention kernels %.2fs"
          + " (summed over tasks, which overlap where they share a GPU; %.0f%% of wall time)%n", r.pairs(), 4.0 * r.dim() * r.pairs() / seconds / 1e9,
          r.kernelMillis() / 1000.0, 100.0 * r.kernelMillis() / Math.max(1, r.millis()));
      ScoreJob.Timings t = r.timings();
      out.printf("  time by stage (wall): count tokens and plan %.2fs; read, pack and route %.2fs; compute %.2fs; merge %.2fs;"
          + " write %.2fs; commit %.2fs (in tasks: cells %.2fs, of which reading their blocks %.2fs and kernels %.2fs;"
          + " merging partials %.2fs;"
          + " writing output after the cells %.2fs)%n",
          t.readMillis() / 1e3, t.routeMillis() / 1e3, t.computeMillis() / 1e3, t.mergeMillis() / 1e3,
          t.writeMillis() / 1e3,
          t.commitMillis() / 1e3, t.cellTaskMillis() / 1e3, t.cellReadMillis() / 1e3, r.kernelMillis() / 1e3,
          t.mergeTaskMillis() / 1e3,
          t.writeTaskMillis() / 1e3);
      out.printf("  shuffled %.1f MB (routing %.1f MB, partials %.1f MB; planner estimate %.1f MB) for %.1f MB of"
          + " q/k/v payload: %.2fx%s%n", t.shuffleBytes() / 1e6, t.routeBytes() / 1e6, t.mergeBytes() / 1e6,
          t.estimatedBytes() / 1e6, t.payloadBytes() / 1e6, (double) t.shuffleBytes() / Math.max(1, t.payloadBytes()),
          t.skippedInputBytes() == 0 ? "" : String.format(Locale.ROOT, "; the cells skipped %.1f MB of input row"
              + " groups (as stored) that held none of their rows", t.skippedInputBytes() / 1e6));
      return r;
    } finally {
      spark.sparkContext().removeSparkListener(progress);
    }
  }
}
