package io.flashspark.job;

import io.flashspark.attention.Precision;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import io.flashspark.attention.TiledAttention;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The command line: {@code generate}, {@code score} and {@code demo}. The same main class and
 * arguments run under {@code spark-submit} (which sets the master) and under {@code bin/flashspark}
 * (Spark embedded, {@code local[*]}).
 */
public final class FlashSpark {
  static final String USAGE = String.join("\n",
      "usage: flashspark <command> [options]",
      "",
      "  generate --output DIR --docs D --tokens N --heads H --dim d [--seed S]",
      "           [--packed array|fp32|fp16|bf16] [--overwrite]",
      "      write a synthetic token table (q, k, v standard normal)",
      "",
      "  score --input DIR --output DIR [--causal] [--block-size T] [--merge driver|distributed]",
      "        [--backend auto|cpu|gpu] [--precision fp32|bf16|fp16] [--queries DIR] [--scale x]",
      "        [--packed fp32|fp16|bf16] [--cells C] [--max-kv-shard-mb MB] [--max-task-mb MB]",
      "        [--output-format array|fp32|bf16] [--write-tasks W] [--overwrite]",
      "      exact attention for every query token of every document",
      "      defaults: block size " + ScoreOptions.DEFAULT_BLOCK_SIZE + ", merge distributed, backend auto,",
      "      precision fp32 on the CPU and bf16 on the GPU, scale 1/sqrt(d), cells: one per task slot (CPU)",
      "      or " + ClusterShape.CELLS_PER_GPU + " per GPU, output array; written by the cells' tasks, or by every task slot"
          + " when",
      "      the cells are fewer than half the slots,",
      "      KV shard cap " + (ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES >> 20) + " MiB, task memory from the executors' heap;",
      "      packed encodings are read from the table (--packed only for tables that do not record them)",
      "",
      "  check --input DIR --output DIR [--queries DIR] [--causal] [--scale x] [--precision fp32|bf16|fp16]",
      "        [--packed fp32|fp16|bf16] [--doc-heads K] [--rows R] [--tolerance t]",
      "      compare a score output with the float64 reference: completeness of every (doc, head), values",
      "      of R rows (default 256) in K (doc, head)s (default 2); --precision: the inputs' rounding",
      "",
      "  bench [--backend auto|cpu|gpu] [--dims 64,128] [--tokens 1024,4096,...] [--precision bf16,fp16]",
      "        [--causal no,yes] [--tokens-per-launch T] [--reps R] [--json FILE]",
      "      time the attention kernel launched from Java (no Spark), after checking it against the",
      "      float64 reference; TFLOP/s of the kernel alone and of the whole call",
      "  bench --sweep smoke|kernels|job --output DIR [--backend auto|cpu|gpu]",
      "      a checked sweep of the kernels and/or the job: a table, DIR/results.json and PNG plots",
      "      (kernels.png, job-stages.png); smoke: about a minute on 2 cores without a GPU",
      "",
      "  demo [--docs D] [--tokens N] [--heads H] [--dim d] [--backend auto|cpu|gpu] [--work DIR]",
      "      generate synthetic documents, score them (causal), check sample rows against the",
      "      float64 reference and print a summary",
      "",
      "  any command: --verbose puts Spark's warnings and failures' stack traces on the console",
      "  exit codes: 0 ok, 1 failure (I/O, cluster, out of memory, check mismatch), 2 bad arguments or input");

  private FlashSpark() {}

  /** Exit codes, as the README lists them. */
  public static final int EXIT_OK = 0;
  /** Any failure that is not the user's input: I/O, cluster, out of memory, a check that found a mismatch. */
  public static final int EXIT_FAILED = 1;
  /** Bad arguments or bad input, reported before anything is written. */
  public static final int EXIT_BAD_INPUT = 2;

  private static final Logger LOG = LogManager.getLogger(FlashSpark.class);

  public static void main(String[] args) {
    int code = run(args, System.out, System.err);
    // stopped here, not by Spark's shutdown hook: there, on a standalone cluster, the app client's
    // last RPCs race the closing thread pools and print a RejectedExecutionException trace
    SparkSession.getDefaultSession().foreach(session -> {
      session.stop();
      return null;
    });
    System.exit(code);
  }

  /**
   * Runs one command; returns the process exit code. Every failure is one line on {@code err}
   * (the stack trace goes to the log, and to {@code err} as well with {@code --verbose}).
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> rest = new java.util.ArrayList<>(List.of(args));
    boolean verbose = rest.remove("--verbose");
    args = rest.toArray(new String[0]);
    if (args.length == 0 || List.of("-h", "--help", "help").contains(args[0])) {
      out.println(USAGE);
      return args.length == 0 ? EXIT_BAD_INPUT : EXIT_OK;
    }
    try {
      switch (args[0]) {
        case "generate":
          generate(new Args("generate", args, 1,
              Set.of("output", "docs", "tokens", "heads", "dim", "seed", "packed"), Set.of("overwrite")), out);
          return EXIT_OK;
        case "score": {
          ScoreOptions options = parseScore(new Args("score", args, 1, Set.of("input", "output", "block-size",
              "merge", "backend", "precision", "queries", "scale", "packed", "cells", "write-tasks", "max-kv-shard-mb",
              "max-task-mb", "output-format"), Set.of("causal", "overwrite")));
          score(session("score"), options, out, err);
          return EXIT_OK;
        }
        case "check":
          return CheckCommand.run(new Args("check", args, 1, Set.of("input", "output", "queries", "precision", "scale",
              "packed", "doc-heads", "rows", "tolerance"), Set.of("causal")), out) ? EXIT_OK : EXIT_FAILED;
        case "bench":
          if (java.util.Arrays.stream(args).anyMatch(x -> x.equals("--sweep") || x.startsWith("--sweep="))) {
            return BenchSweep.run(new Args("bench", args, 1, Set.of("sweep", "output", "backend"), Set.of()), out, err);
          }
          return io.flashspark.attention.KernelBench.run(java.util.Arrays.copyOfRange(args, 1, args.length));
        case "demo":
          return Demo.run(new Args("demo", args, 1, Set.of("docs", "tokens", "heads", "dim", "backend", "work"),
              Set.of()), out, err);
        default:
          throw new InputException("unknown command '" + args[0] + "' (commands: generate, score, check, bench, demo;"
              + " --help lists their options)");
      }
    } catch (Exception | OutOfMemoryError e) { // Spark throws checked exceptions undeclared
      if (org.apache.hadoop.util.ShutdownHookManager.get().isShutdownInProgress()) {
        err.println("flashspark: interrupted; the output was not written");
        return EXIT_FAILED; // the JVM's exit code is the signal's (130, 143)
      }
      InputException input = inputCause(e);
      String message = input != null ? "error: " + input.getMessage() : "failed: " + Failures.describe(e);
      if (input != null) {
        LOG.warn("flashspark {} {}", args[0], message);
      } else {
        LOG.error("flashspark " + args[0] + " " + message, e);
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

  private static void generate(Args a, PrintStream out) {
    String output = a.required("output");
    int docs = a.getInt("docs", 1, 1, Integer.MAX_VALUE);
    long tokens = a.getLong("tokens", 4096, 1, Long.MAX_VALUE);
    int heads = a.getInt("heads", 1, 1, Integer.MAX_VALUE);
    int dim = a.getInt("dim", 64, 1, TiledAttention.MAX_DIM);
    long seed = a.getLong("seed", 1, Long.MIN_VALUE, Long.MAX_VALUE);
    VectorEncoding encoding = a.choice("packed", "array", List.of("array", "fp32", "fp16", "bf16"),
        VectorEncoding::parse);
    SparkSession spark = session("generate");
    long start = System.currentTimeMillis();
    try (OutputPaths.Staged staged = OutputPaths.stage(spark.sparkContext().hadoopConfiguration(), output,
        a.flag("overwrite"))) {
      SyntheticTokens.generate(spark, docs, tokens, heads, dim, seed, encoding).write().parquet(staged.path());
      staged.commit();
    }
    out.printf("generated %d docs x %d heads x %d tokens (d=%d, %s) into %s in %.1fs%n", docs, heads, tokens, dim,
        encoding.name().toLowerCase(Locale.ROOT), output, (System.currentTimeMillis() - start) / 1000.0);
  }

  static ScoreOptions parseScore(Args a) {
    String precision = a.get("precision", null);
    return new ScoreOptions(
        a.required("input"),
        a.required("output"),
        a.get("queries", null),
        a.flag("causal"),
        a.getInt("block-size", ScoreOptions.DEFAULT_BLOCK_SIZE, 1, ScoreOptions.MAX_BLOCK_SIZE),
        a.choice("merge", "distributed", List.of("driver", "distributed"),
            m -> ScoreOptions.MergeMode.valueOf(m.toUpperCase(Locale.ROOT))),
        a.choice("backend", "auto", List.of("auto", "cpu", "gpu"), b -> b),
        precision == null ? null : a.choice("precision", precision, List.of("fp32", "bf16", "fp16"), Precision::parse),
        a.getPositiveDouble("scale", Double.NaN),
        a.choice("packed", null, List.of("fp32", "fp16", "bf16"), VectorEncoding::parse),
        a.getInt("cells", 0, 1, Integer.MAX_VALUE),
        a.getLong("max-kv-shard-mb", ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES >> 20, 1, 1L << 30) << 20,
        a.getLong("max-task-mb", 0, 16, 1L << 30) << 20,
        a.flag("overwrite"),
        a.choice("output-format", "array", List.of("array", "fp32", "bf16"), OutputTable::parseFormat),
        a.getInt("write-tasks", ScoreOptions.AUTO_WRITE_TASKS, 0, Integer.MAX_VALUE));
  }

  static ScoreJob.Result score(SparkSession spark, ScoreOptions options, PrintStream out, PrintStream err) {
    Progress progress = new Progress(err);
    spark.sparkContext().addSparkListener(progress);
    try {
      ScoreJob.Result r = new ScoreJob(spark, options, progress).run();
      double seconds = r.millis() / 1000.0;
      out.printf("scored %d query rows against %d key rows (d=%d%s) in %.2fs -> %s%n", r.queryRows(), r.keyRows(),
          r.dim(), options.causal() ? ", causal" : "", seconds, options.output());
      out.printf("  backend: %s; merge: %s; block size %d; %s%n", String.join(", ", r.backends()),
          options.merge().name().toLowerCase(Locale.ROOT), options.blockSize(), r.plan().description());
      out.printf("  %.3g query-key pairs, %.2f GFLOP/s end to end (4*d FLOP per pair); attention kernels %.2fs"
          + " (summed over tasks, %.0f%% of wall time)%n", r.pairs(), 4.0 * r.dim() * r.pairs() / seconds / 1e9,
          r.kernelMillis() / 1000.0, 100.0 * r.kernelMillis() / Math.max(1, r.millis()));
      ScoreJob.Timings t = r.timings();
      out.printf("  time by stage (wall): read, pack, validate and plan %.2fs; route %.2fs; compute %.2fs; merge %.2fs;"
          + " write %.2fs; commit %.2fs (in tasks: cells %.2fs, of which kernels %.2fs; merging partials %.2fs;"
          + " writing output after the cells %.2fs)%n",
          t.readMillis() / 1e3, t.routeMillis() / 1e3, t.computeMillis() / 1e3, t.mergeMillis() / 1e3,
          t.writeMillis() / 1e3,
          t.commitMillis() / 1e3, t.cellTaskMillis() / 1e3, r.kernelMillis() / 1e3, t.mergeTaskMillis() / 1e3,
          t.writeTaskMillis() / 1e3);
      out.printf("  shuffled %.1f MB (routing %.1f MB, partials %.1f MB; planner estimate %.1f MB) for %.1f MB of"
          + " q/k/v payload: %.2fx%n", t.shuffleBytes() / 1e6, t.routeBytes() / 1e6, t.mergeBytes() / 1e6,
          t.estimatedBytes() / 1e6, t.payloadBytes() / 1e6, (double) t.shuffleBytes() / Math.max(1, t.payloadBytes()));
      return r;
    } finally {
      spark.sparkContext().removeSparkListener(progress);
    }
  }
}
