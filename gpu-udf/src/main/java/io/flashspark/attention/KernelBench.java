package io.flashspark.attention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The project's kernel benchmark ({@code flashspark bench}, or this main class alone where there
 * is no Spark, e.g. a GPU host): the backend's forward over {@code heads} problems of N = M
 * tokens per launch, launched from Java. Checks sample rows against the float64 reference
 * before timing (fresh random inputs per size), then reports the median of the kernel's own
 * time (CUDA events on the GPU) and of the whole Java call (staging, copies, conversion).
 * FLOPs: 4·N·M·d per head, half when causal.
 */
public final class KernelBench {
  private static final String USAGE = "usage: bench [--backend auto|cpu|gpu] [--dims 64,128] [--tokens 1024,4k]"
      + " [--precision bf16,fp16] [--causal no,yes] [--tokens-per-launch T] [--reps R] [--json FILE]";
  private static final List<String> USAGE_OPTIONS = List.of("--backend", "--dims", "--tokens", "--precision",
      "--causal", "--tokens-per-launch", "--reps", "--json");

  /**
   * One size, checked then timed: medians of the kernel's own time and of the whole Java call;
   * {@code flops} per launch (4·N·M·d per head, half when causal); the largest error of 16 sample
   * rows against the float64 reference, and that of a naive attention in the same precision
   * (the bound: {@code ok} when ours is at most twice it).
   */
  public record Measurement(String backend, String precision, int dim, int tokens, boolean causal, int heads,
      double kernelMs, double callMs, double flops, double maxError, double naiveError, boolean ok) {
    public double kernelFlopsPerSecond() {
      return flops / (kernelMs / 1e3);
    }

    public double callFlopsPerSecond() {
      return flops / (callMs / 1e3);
    }

    /** This measurement as a JSON object (the format tools/gpu-host/bench_table.py reads). */
    public String toJson() {
      return String.format(Locale.ROOT, "{\"backend\": \"%s\", \"precision\": \"%s\", \"dim\": %d, \"tokens\": %d,"
          + " \"causal\": %b, \"heads\": %d, \"kernel_ms\": %.6f, \"call_ms\": %.6f, \"flops\": %.6e,"
          + " \"kernel_tflops\": %.4f, \"call_tflops\": %.4f, \"max_error\": %.6e, \"naive_error\": %.6e,"
          + " \"ok\": %b}", backend.replace("\"", "'"), precision, dim, tokens, causal, heads, kernelMs, callMs, flops,
          kernelFlopsPerSecond() / 1e12, callFlopsPerSecond() / 1e12, maxError, naiveError, ok);
    }
  }

  /** Measurements as a JSON array, one object per line. */
  public static String toJson(List<Measurement> ms) {
    StringBuilder b = new StringBuilder("[\n");
    for (int i = 0; i < ms.size(); i++) {
      b.append("  ").append(ms.get(i).toJson()).append(i + 1 < ms.size() ? ",\n" : "\n");
    }
    return b.append("]\n").toString();
  }

  private KernelBench() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the benchmark; returns 0, 1 if a correctness check failed, 2 on bad arguments. */
  public static int run(String[] args) {
    String backendName = "auto";
    List<Integer> dims = List.of(64, 128);
    List<Long> tokens = List.of(1024L, 4096L, 16384L, 65536L);
    List<Precision> precisions = List.of(Precision.BF16, Precision.FP16);
    List<Boolean> causal = List.of(false, true);
    long tokensPerLaunch = 262144;
    int reps = 10;
    String json = null;
    try {
      for (int i = 0; i < args.length; i++) {
        String option = args[i];
        if (!USAGE_OPTIONS.contains(option)) {
          throw new IllegalArgumentException("unknown option " + option);
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(option + " needs a value");
        }
        String value = args[++i];
        switch (option) {
          case "--backend":
            if (!List.of("auto", "cpu", "gpu").contains(value)) {
              throw new IllegalArgumentException("--backend must be auto, cpu or gpu, got '" + value + "'");
            }
            backendName = value;
            break;
          case "--dims": dims = csv(option, value, d -> inRange(option, Integer.parseInt(d), 1, TiledAttention.MAX_DIM));
            break;
          case "--tokens": tokens = csv(option, value, t -> inRange(option, tokenCount(t), 1, 1 << 24)); break;
          case "--precision": precisions = csv(option, value, Precision::parse); break;
          case "--causal": causal = csv(option, value, KernelBench::yesNo); break;
          case "--tokens-per-launch": tokensPerLaunch = inRange(option, tokenCount(value), 1, 1L << 30); break;
          case "--json": json = value; break;
          default: reps = inRange(option, Integer.parseInt(value), 1, 100_000); break; // --reps
        }
      }
    } catch (IllegalArgumentException e) { // NumberFormatException included
      System.err.println("flashspark: error: bench: " + e.getMessage());
      System.err.println(USAGE);
      return 2;
    }
    AttentionBackend backend;
    try {
      backend = Backends.forName(backendName);
    } catch (RuntimeException e) {
      System.err.println("flashspark: error: bench: --backend " + backendName + ": " + e.getMessage());
      return 2;
    }
    System.out.println("backend " + backend.name() + ", " + reps + " timed reps after 2 warm-ups (medians)");
    List<String> table = new ArrayList<>();
    String unit = backend == CpuBackend.INSTANCE ? "GF" : "TF"; // GFLOP/s on the CPU, TFLOP/s on the GPU
    table.add(String.format("%-5s %4s %7s %6s %5s %9s %10s %10s %10s %9s", "prec", "d", "N", "causal", "heads",
        "kernel_ms", "kernel_" + unit, "call_ms", "call_" + unit, "max_err"));
    double flopUnit = unit.equals("GF") ? 1e-9 : 1e-12;
    List<Measurement> all = measure(backend, precisions, dims, tokens, causal, tokensPerLaunch, reps, m -> {
      String row = row(m, flopUnit);
      table.add(row);
      System.out.println(row);
      System.out.flush();
    });
    System.out.println();
    table.forEach(System.out::println);
    if (json != null) {
      try {
        java.nio.file.Files.writeString(java.nio.file.Path.of(json), toJson(all));
      } catch (java.io.IOException e) {
        System.err.println("flashspark: failed: bench: cannot write " + json + ": " + e.getMessage());
        return 1;
      }
    }
    return all.stream().allMatch(Measurement::ok) ? 0 : 1;
  }

  /** Every size of the grid, checked then timed, in order; {@code each} sees each as it is done. */
  public static List<Measurement> measure(AttentionBackend backend, List<Precision> precisions, List<Integer> dims,
      List<Long> tokens, List<Boolean> causal, long tokensPerLaunch, int reps,
      java.util.function.Consumer<Measurement> each) {
    List<Measurement> out = new ArrayList<>();
    for (Precision precision : precisions) {
      for (int d : dims) {
        for (long n : tokens) {
          for (boolean c : causal) {
            int heads = (int) Math.max(1, tokensPerLaunch / n);
            Measurement m = measure(backend, precision, d, (int) n, heads, c, reps);
            out.add(m);
            each.accept(m);
          }
        }
      }
    }
    return out;
  }

  private static String row(Measurement m, double flopUnit) {
    return String.format(Locale.ROOT, "%-5s %4d %7d %6s %5d %9.3f %10.1f %10.3f %10.1f %9.2e %s", m.precision(),
        m.dim(), m.tokens(), m.causal() ? "yes" : "no", m.heads(), m.kernelMs(), m.kernelFlopsPerSecond() * flopUnit,
        m.callMs(), m.callFlopsPerSecond() * flopUnit, m.maxError(), m.ok() ? "ok" : "FAIL");
  }

  private static Measurement measure(AttentionBackend backend, Precision precision, int d, int n, int heads,
      boolean causal, int reps) {
    SplittableRandom rnd = new SplittableRandom();
    List<QueryBlock> queries = new ArrayList<>(heads);
    List<List<KeyValueBlock>> kvs = new ArrayList<>(heads);
    long[] pos = new long[n];
    for (int i = 0; i < n; i++) {
      pos[i] = i;
    }
    for (int h = 0; h < heads; h++) {
      queries.add(new QueryBlock(n, d, randn(rnd, n * d), pos));
      kvs.add(List.of(new KeyValueBlock(n, d, randn(rnd, n * d), randn(rnd, n * d), pos)));
    }
    AttentionSpec spec = new AttentionSpec(Double.NaN, causal, precision);
    List<Partial> out = backend.attend(queries, kvs, spec);
    double[] errors = sampleErrors(queries.get(heads - 1), kvs.get(heads - 1), out.get(heads - 1), spec);
    double maxErr = errors[0];
    boolean ok = maxErr <= 2 * errors[1] + 1e-5;
    backend.attend(queries, kvs, spec);
    long[] kernel = new long[reps];
    long[] call = new long[reps];
    for (int r = 0; r < reps; r++) {
      long t0 = System.nanoTime();
      backend.attend(queries, kvs, spec);
      call[r] = System.nanoTime() - t0;
      kernel[r] = backend.lastKernelNanos();
    }
    double flops = 4.0 * n * n * d * heads * (causal ? 0.5 : 1.0);
    return new Measurement(backend.name(), precision.label(), d, n, causal, heads, median(kernel) / 1e6,
        median(call) / 1e6, flops, maxErr, errors[1], ok);
  }

  /**
   * Max |o - ref| over 16 sample rows spread over the block (the reference is O(rows·M·d)), for the
   * backend's partial {@code p} and for a naive attention at the same precision: {ours, naive}.
   * fp32 has no naive yardstick: its bound is 1e-5.
   */
  private static double[] sampleErrors(QueryBlock q, List<KeyValueBlock> kv, Partial p, AttentionSpec spec) {
    QueryBlock sample = sampleRows(q);
    ReferenceAttention.Result ref = ReferenceAttention.forward(sample, kv, spec);
    int step = Math.max(1, q.rows() / 16);
    double ours = maxError(s -> p.outputRow(s * step), ref);
    if (spec.precision() == Precision.FP32) {
      return new double[] {ours, 1e-5};
    }
    Partial naive = NaiveLowPrecision.forward(sample, kv, spec);
    return new double[] {ours, maxError(naive::outputRow, ref)};
  }

  private static double maxError(java.util.function.IntFunction<float[]> row, ReferenceAttention.Result ref) {
    double err = 0;
    for (int s = 0; s < ref.rows(); s++) {
      float[] x = row.apply(s);
      for (int c = 0; c < ref.dim(); c++) {
        double e = Math.abs(x[c] - ref.o(s, c));
        err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(err, e);
      }
    }
    return err;
  }

  private static QueryBlock sampleRows(QueryBlock q) {
    int step = Math.max(1, q.rows() / 16);
    int rows = (q.rows() + step - 1) / step;
    float[] x = new float[rows * q.dim()];
    long[] pos = new long[rows];
    for (int s = 0; s < rows; s++) {
      System.arraycopy(q.q(), s * step * q.dim(), x, s * q.dim(), q.dim());
      pos[s] = q.pos()[s * step];
    }
    return new QueryBlock(rows, q.dim(), x, pos);
  }

  private static double median(long[] xs) {
    long[] s = xs.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }

  private static float[] randn(SplittableRandom rnd, int n) {
    return Gaussian.floats(rnd, n, 1);
  }

  /** "4096" or "4k" (= 4096). */
  private static long tokenCount(String t) {
    return t.endsWith("k") ? 1024 * Long.parseLong(t.substring(0, t.length() - 1)) : Long.parseLong(t);
  }

  /** A comma-separated option value, each item parsed by {@code parse}; at least one item. */
  private static <T> List<T> csv(String option, String value, java.util.function.Function<String, T> parse) {
    List<T> out = new ArrayList<>();
    for (String item : value.split(",")) {
      if (!item.isBlank()) {
        out.add(parse.apply(item.trim()));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(option + " needs at least one value");
    }
    return out;
  }

  private static <T extends Number & Comparable<T>> T inRange(String option, T value, long min, long max) {
    if (value.longValue() < min || value.longValue() > max) {
      throw new IllegalArgumentException(option + " must be between " + min + " and " + max + ", got " + value);
    }
    return value;
  }

  private static boolean yesNo(String c) {
    switch (c) {
      case "yes": case "true": return true;
      case "no": case "false": return false;
      default: throw new IllegalArgumentException("--causal takes yes or no, got '" + c + "'");
    }
  }
}
