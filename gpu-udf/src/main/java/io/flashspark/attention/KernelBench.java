package io.flashspark.attention;

import io.flashspark.cli.Cli;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The project's kernel benchmark ({@code flashspark bench}, or this main class alone where there
 * is no Spark, e.g. a GPU host): the backend's forward over {@code heads} problems of N = M
 * tokens per launch, launched from Java. Checks sample rows against the float64 reference
 * before timing (fresh random inputs per size), then reports the median of the kernel's own
 * time (CUDA events on the GPU) and of the whole Java call (staging, copies, conversion).
 * FLOPs: 4·N·M·d per head, half when causal.
 */
public final class KernelBench {
  /**
   * The sizes a run covers: every (precision, d, N, causal), {@code heads = tokensPerLaunch / N}
   * problems per launch (at least one), {@code reps} timed launches after a warm-up ({@link #warmUp}).
   */
  public record Grid(List<Precision> precisions, List<Integer> dims, List<Long> tokens, List<Boolean> causal,
      long tokensPerLaunch, int reps) {
    /** {@code bench} on a GPU: the table of docs/benchmarks.md. */
    public static Grid gpu() {
      return new Grid(List.of(Precision.BF16, Precision.FP16), List.of(64, 128), List.of(1024L, 4096L, 16384L, 65536L),
          List.of(false, true), 262144, 10);
    }

    /** {@code bench} on the CPU: under a minute on a 2-core laptop (the GPU grid would take hours there). */
    public static Grid cpu() {
      return new Grid(List.of(Precision.BF16), List.of(64, 128), List.of(1024L, 4096L, 16384L), List.of(false, true),
          16384, 3);
    }

    public static Grid forBackend(AttentionBackend backend) {
      return backend == CpuBackend.INSTANCE ? cpu() : gpu();
    }
  }

  /** {@code bench}'s options; each one left out takes the backend's {@link Grid} value. */
  public static final class Options {
    @Spec(Spec.Target.MIXEE) CommandSpec spec;

    @Option(names = "--backend", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
        description = "Kernels to time: auto takes the GPU when one is usable. Default: ${DEFAULT-VALUE}.")
    public String backend;

    @Option(names = "--dims", split = ",", paramLabel = "d",
        description = "Head dimensions. Default: 64,128.")
    List<Integer> dims;

    @Option(names = "--tokens", split = ",", paramLabel = "N", converter = Cli.Count.class,
        description = "Sequence lengths (N = M), e.g. 1k,4k. Default: 1k,4k,16k,64k on a GPU; 1k,4k,16k on the CPU.")
    List<Long> tokens;

    @Option(names = "--precision", split = ",", paramLabel = "bf16|fp16", converter = Cli.PrecisionName.class,
        description = "Input precisions. Default: bf16,fp16 on a GPU; bf16 on the CPU.")
    List<Precision> precisions;

    @Option(names = "--causal", arity = "1", split = ",", paramLabel = "no|yes", converter = Cli.YesNo.class,
        description = "Causal masking off, on, or both. Default: no,yes.")
    List<Boolean> causal;

    @Option(names = "--tokens-per-launch", paramLabel = "T", converter = Cli.Count.class,
        description = "Query tokens per launch (heads = T / N). Default: 256k on a GPU; 16k on the CPU.")
    Long tokensPerLaunch;

    @Option(names = "--reps", paramLabel = "R", description = "Timed repetitions per size. Default: 10 on a GPU;"
        + " 3 on the CPU.")
    Integer reps;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the measurements as JSON.")
    public String json;

    /** The backend's grid with every option given replacing its value, checked. */
    public Grid grid(AttentionBackend resolved) {
      Cli.oneOf(spec, "--backend", backend, List.of("auto", "cpu", "gpu"));
      Grid g = Grid.forBackend(resolved);
      for (int d : dims == null ? List.<Integer>of() : dims) {
        Cli.inRange(spec, "--dims", d, 1, TiledAttention.MAX_DIM);
      }
      for (long n : tokens == null ? List.<Long>of() : tokens) {
        Cli.inRange(spec, "--tokens", n, 1, 1 << 24);
      }
      return new Grid(precisions != null ? precisions : g.precisions(), dims != null ? dims : g.dims(),
          tokens != null ? tokens : g.tokens(), causal != null ? causal : g.causal(),
          tokensPerLaunch != null ? Cli.inRange(spec, "--tokens-per-launch", tokensPerLaunch, 1, 1L << 30)
              : g.tokensPerLaunch(),
          reps != null ? (int) Cli.inRange(spec, "--reps", reps, 1, 100_000) : g.reps());
    }
  }

  @Command(name = "bench", mixinStandardHelpOptions = true, showDefaultValues = false,
      description = "Time the attention kernel launched from Java (no Spark), after checking it against the float64"
          + " reference.")
  static final class Main implements Callable<Integer> {
    @Mixin Options options;

    @Override
    public Integer call() {
      return run(options, System.out, System.err);
    }
  }

  /** Calls the warm-up makes at least ({@link #warmUp}), the checking call included. */
  static final int WARM_UP_CALLS = 2;
  /** How long the warm-up runs at least. */
  static final long WARM_UP_NANOS = 300_000_000L;

  /**
   * Runs {@code call} until it has run {@link #WARM_UP_CALLS} times after the checking call and for
   * {@link #WARM_UP_NANOS}: two calls left the CPU backend's first size of a run half compiled (d64, N
   * 256: 5.8 GFLOP/s timed first, 20.2 later in the same run).
   */
  static int warmUp(Runnable call) {
    long start = System.nanoTime();
    int calls = 0;
    while (calls < WARM_UP_CALLS - 1 || System.nanoTime() - start < WARM_UP_NANOS) {
      call.run();
      calls++;
    }
    return calls;
  }

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

  /** Where there is no Spark (a GPU host): the same options as {@code flashspark bench}. */
  public static void main(String[] args) {
    System.exit(Cli.commandLine(new Main(), System.out, System.err).execute(args));
  }

  /**
   * Runs the benchmark; returns 0, 1 if a correctness check failed or the JSON could not be written,
   * 2 on bad arguments.
   */
  public static int run(Options options, PrintStream out, PrintStream err) {
    AttentionBackend backend;
    try {
      backend = Backends.forName(options.backend);
    } catch (RuntimeException e) {
      err.println("flashspark: error: bench: --backend " + options.backend + ": " + e.getMessage());
      return Cli.EXIT_BAD_INPUT;
    }
    Grid grid = options.grid(backend);
    out.println("backend " + backend.name() + ", " + grid.reps() + " timed reps after a warm-up of "
        + WARM_UP_NANOS / 1_000_000 + " ms or more (medians)");
    List<String> table = new ArrayList<>();
    String unit = backend == CpuBackend.INSTANCE ? "GF" : "TF"; // GFLOP/s on the CPU, TFLOP/s on the GPU
    table.add(String.format("%-5s %4s %7s %6s %5s %9s %10s %10s %10s %9s", "prec", "d", "N", "causal", "heads",
        "kernel_ms", "kernel_" + unit, "call_ms", "call_" + unit, "max_err"));
    double flopUnit = unit.equals("GF") ? 1e-9 : 1e-12;
    List<Measurement> all = measure(backend, grid, m -> {
      String row = row(m, flopUnit);
      table.add(row);
      out.println(row);
      out.flush();
    });
    out.println();
    table.forEach(out::println);
    if (options.json != null) {
      try {
        java.nio.file.Files.writeString(java.nio.file.Path.of(options.json), toJson(all));
      } catch (java.io.IOException e) {
        err.println("flashspark: failed: bench: cannot write " + options.json + ": " + e.getMessage());
        return Cli.EXIT_FAILED;
      }
    }
    return all.stream().allMatch(Measurement::ok) ? Cli.EXIT_OK : Cli.EXIT_FAILED;
  }

  /** Every size of the grid, checked then timed, in order; {@code each} sees each as it is done. */
  public static List<Measurement> measure(AttentionBackend backend, Grid grid,
      java.util.function.Consumer<Measurement> each) {
    List<Measurement> out = new ArrayList<>();
    for (Precision precision : grid.precisions()) {
      for (int d : grid.dims()) {
        for (long n : grid.tokens()) {
          for (boolean c : grid.causal()) {
            int heads = (int) Math.max(1, grid.tokensPerLaunch() / n);
            Measurement m = measure(backend, precision, d, (int) n, heads, c, grid.reps());
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
    warmUp(() -> backend.attend(queries, kvs, spec));
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
}
