package io.flashspark.job;

import io.flashspark.attention.Precision;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SaveMode;
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
      "        [--packed fp32|fp16|bf16] [--cells C] [--max-kv-shard-mb MB] [--overwrite]",
      "      exact attention for every query token of every document",
      "      defaults: block size " + ScoreOptions.DEFAULT_BLOCK_SIZE + ", merge distributed, backend auto,",
      "      precision fp32 on the CPU and bf16 on the GPU, scale 1/sqrt(d), one cell per core (default parallelism),",
      "      KV shard cap " + (ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES >> 20) + " MiB",
      "",
      "  check --input DIR --output DIR [--queries DIR] [--causal] [--scale x] [--precision fp32|bf16|fp16]",
      "        [--packed fp32|fp16|bf16] [--doc-heads K] [--rows R] [--tolerance t]",
      "      compare a score output with the float64 reference: completeness of every (doc, head), values",
      "      of R rows (default 256) in K (doc, head)s (default 2); --precision: the inputs' rounding",
      "",
      "  bench [--backend auto|cpu|gpu] [--dims 64,128] [--tokens 1024,4096,...] [--precision bf16,fp16]",
      "        [--causal no,yes] [--tokens-per-launch T] [--reps R]",
      "      time the attention kernel launched from Java (no Spark), after checking it against the",
      "      float64 reference; TFLOP/s of the kernel alone and of the whole call",
      "",
      "  demo [--docs D] [--tokens N] [--heads H] [--dim d] [--backend auto|cpu|gpu] [--work DIR]",
      "      generate synthetic documents, score them (causal), check sample rows against the",
      "      float64 reference and print a summary");

  private FlashSpark() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the process exit code (0 ok, 2 bad input or usage, 1 failure). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || List.of("-h", "--help", "help").contains(args[0])) {
      out.println(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    try {
      switch (args[0]) {
        case "generate":
          generate(new Args("generate", args, 1,
              Set.of("output", "docs", "tokens", "heads", "dim", "seed", "packed"), Set.of("overwrite")), out);
          return 0;
        case "score":
          score(session("score"), parseScore(new Args("score", args, 1, Set.of("input", "output", "block-size",
              "merge", "backend", "precision", "queries", "scale", "packed", "cells", "max-kv-shard-mb"),
              Set.of("causal", "overwrite"))), out, err);
          return 0;
        case "check":
          return CheckCommand.run(new Args("check", args, 1, Set.of("input", "output", "queries", "precision", "scale",
              "packed", "doc-heads", "rows", "tolerance"), Set.of("causal")), out);
        case "bench":
          return io.flashspark.attention.KernelBench.run(java.util.Arrays.copyOfRange(args, 1, args.length));
        case "demo":
          return Demo.run(new Args("demo", args, 1, Set.of("docs", "tokens", "heads", "dim", "backend", "work"),
              Set.of()), out, err);
        default:
          throw new InputException("unknown command '" + args[0] + "'\n" + USAGE);
      }
    } catch (RuntimeException e) {
      InputException input = inputCause(e);
      if (input != null) {
        err.println("flashspark: error: " + input.getMessage());
        return 2;
      }
      err.println("flashspark: failed: " + e);
      e.printStackTrace(err);
      return 1;
    }
  }

  /** Our own input errors, also when Spark wrapped one thrown on an executor. */
  static InputException inputCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof InputException) {
        return (InputException) t;
      }
    }
    return null;
  }

  static SparkSession session(String app) {
    SparkConf conf = new SparkConf();
    SparkSession.Builder builder = SparkSession.builder().appName("flashspark " + app);
    if (!conf.contains("spark.master")) {
      builder.master("local[*]"); // bin/flashspark: Spark embedded; spark-submit sets the master
    }
    return builder.getOrCreate();
  }

  private static void generate(Args a, PrintStream out) {
    String output = a.required("output");
    int docs = a.getInt("docs", 1);
    long tokens = a.getLong("tokens", 4096);
    int heads = a.getInt("heads", 1);
    int dim = a.getInt("dim", 64);
    long seed = a.getLong("seed", 1);
    VectorEncoding encoding = a.choice("packed", "array", List.of("array", "fp32", "fp16", "bf16"),
        VectorEncoding::parse);
    SparkSession spark = session("generate");
    OutputPaths.checkWritable(spark, output, a.flag("overwrite"));
    long start = System.currentTimeMillis();
    SyntheticTokens.generate(spark, docs, tokens, heads, dim, seed, encoding)
        .write().mode(a.flag("overwrite") ? SaveMode.Overwrite : SaveMode.ErrorIfExists).parquet(output);
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
        a.getInt("block-size", ScoreOptions.DEFAULT_BLOCK_SIZE),
        a.choice("merge", "distributed", List.of("driver", "distributed"),
            m -> ScoreOptions.MergeMode.valueOf(m.toUpperCase(Locale.ROOT))),
        a.choice("backend", "auto", List.of("auto", "cpu", "gpu"), b -> b),
        precision == null ? null : a.choice("precision", precision, List.of("fp32", "bf16", "fp16"), Precision::parse),
        a.getDouble("scale", Double.NaN),
        a.choice("packed", "fp32", List.of("fp32", "fp16", "bf16"), VectorEncoding::parse),
        a.getInt("cells", 0),
        a.getLong("max-kv-shard-mb", ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES >> 20) << 20,
        a.flag("overwrite"));
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
      return r;
    } finally {
      spark.sparkContext().removeSparkListener(progress);
    }
  }
}
