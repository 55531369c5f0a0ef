package io.flashspark.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Backends;
import io.flashspark.attention.CpuBackend;
import io.flashspark.attention.KernelBench;
import io.flashspark.attention.Precision;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code bench --sweep smoke|kernels|job --output DIR}: a benchmark sweep that checks before it
 * times, prints a table, and writes {@code results.json} with PNG plots into DIR:
 * <ul>
 *   <li>{@code kernels}: the attention kernels launched from Java ({@link KernelBench}: every size
 *       checked against the float64 reference, then timed) over d, N, precision and causal;
 *       {@code kernels.png}: FLOP/s by N per (precision, d, causal).</li>
 *   <li>{@code job}: {@code score} on synthetic documents, each output checked on sampled rows
 *       against the float64 reference; {@code job-stages.png}: the wall time by stage.</li>
 *   <li>{@code smoke}: both at sizes that take about a minute on a 2-core machine without a GPU.</li>
 * </ul>
 * Exit 1 when a check fails (the results are written all the same).
 */
final class BenchSweep {
  private BenchSweep() {}

  /** A job configuration: documents x tokens x heads at head dimension dim, causal, packed bf16. */
  record JobCase(int docs, int tokens, int heads, int dim) {
    String label() {
      return docs + "x" + tokens + "x" + heads + " d" + dim;
    }
  }

  static int run(String sweep, Path dir, String backendName, PrintStream out) throws IOException {
    System.setProperty("java.awt.headless", "true"); // plots drawn without a display
    AttentionBackend backend = Backends.forName(backendName);
    boolean gpu = backend != CpuBackend.INSTANCE;
    Files.createDirectories(dir);
    Map<String, Object> results = new LinkedHashMap<>();
    results.put("sweep", sweep);
    results.put("date", java.time.OffsetDateTime.now().toString());
    results.put("backend", backend.name());
    boolean ok = true;
    List<KernelBench.Measurement> kernels = null;
    List<Map<String, Object>> jobs = null;
    if (!sweep.equals("job")) {
      kernels = kernels(backend, sweep.equals("smoke"), gpu, out);
      results.put("kernels", kernels.stream().map(BenchSweep::asMap).toList());
      ok &= kernels.stream().allMatch(KernelBench.Measurement::ok);
    }
    if (!sweep.equals("kernels")) {
      jobs = jobs(sweep.equals("smoke"), gpu, backendName, dir, out);
      results.put("jobs", jobs);
      ok &= jobs.stream().allMatch(j -> Boolean.TRUE.equals(j.get("checked_ok")));
    }
    // the numbers first: plots need the JRE's font support, which a trimmed JRE on a GPU host may lack
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("results.json").toFile(),
        results);
    List<String> written = new ArrayList<>(List.of(dir.resolve("results.json").toString()));
    try {
      if (kernels != null) {
        kernelPlot(kernels, gpu, dir.resolve("kernels.png"));
        written.add("kernels.png");
      }
      if (jobs != null) {
        stagePlot(jobs, dir.resolve("job-stages.png"));
        written.add("job-stages.png");
      }
    } catch (LinkageError | RuntimeException e) { // e.g. UnsatisfiedLinkError: libfontmanager without libfreetype
      out.println("plots not drawn (" + e.getClass().getSimpleName() + ": " + Failures.firstLine(e)
          + "); the results are in results.json");
    }
    out.println("wrote " + String.join(", ", written) + (ok ? "" : "; a check FAILED"));
    return ok ? FlashSpark.EXIT_OK : FlashSpark.EXIT_FAILED;
  }

  private static List<KernelBench.Measurement> kernels(AttentionBackend backend, boolean smoke, boolean gpu,
      PrintStream out) {
    KernelBench.Grid full = KernelBench.Grid.forBackend(backend);
    // smoke: the GPU's two shortest sizes, or a CPU grid of a few seconds
    KernelBench.Grid grid = !smoke ? full : gpu
        ? new KernelBench.Grid(full.precisions(), full.dims(), full.tokens().subList(0, 2), full.causal(),
            full.tokensPerLaunch(), 3)
        : new KernelBench.Grid(List.of(Precision.BF16), List.of(64), List.of(256L, 1024L), full.causal(), 2048, 3);
    int reps = grid.reps();
    String unit = gpu ? "TFLOP/s" : "GFLOP/s";
    double scale = gpu ? 1e-12 : 1e-9;
    out.printf("kernels (%s, %d timed reps, medians; each size checked first):%n", backend.name(), reps);
    out.printf("%-5s %4s %7s %6s %5s %10s %12s %12s %10s %s%n", "prec", "d", "N", "causal", "heads", "kernel_ms",
        "kernel " + unit, "call " + unit, "max_err", "check");
    return KernelBench.measure(backend, grid,
        m -> out.printf(Locale.ROOT, "%-5s %4d %7d %6s %5d %10.3f %12.2f %12.2f %10.2e %s%n", m.precision(), m.dim(),
            m.tokens(), m.causal() ? "yes" : "no", m.heads(), m.kernelMs(), m.kernelFlopsPerSecond() * scale,
            m.callFlopsPerSecond() * scale, m.maxError(), m.ok() ? "ok" : "FAIL"));
  }

  private static Map<String, Object> asMap(KernelBench.Measurement m) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("precision", m.precision());
    r.put("dim", m.dim());
    r.put("tokens", m.tokens());
    r.put("causal", m.causal());
    r.put("heads", m.heads());
    r.put("kernel_ms", m.kernelMs());
    r.put("call_ms", m.callMs());
    r.put("flops", m.flops());
    r.put("kernel_flops_per_s", m.kernelFlopsPerSecond());
    r.put("call_flops_per_s", m.callFlopsPerSecond());
    r.put("max_error", m.maxError());
    r.put("naive_error", m.naiveError());
    r.put("ok", m.ok());
    return r;
  }

  private static List<Map<String, Object>> jobs(boolean smoke, boolean gpu, String backend, Path dir,
      PrintStream out) throws IOException {
    List<JobCase> cases = gpu
        ? (smoke ? List.of(new JobCase(1, 16384, 4, 128)) : List.of(new JobCase(1, 262144, 8, 128),
            new JobCase(16, 32768, 2, 128)))
        : (smoke ? List.of(new JobCase(1, 2048, 2, 64), new JobCase(4, 512, 1, 64))
            : List.of(new JobCase(1, 8192, 2, 64), new JobCase(16, 1024, 2, 64)));
    SparkSession spark = FlashSpark.session("bench");
    List<Map<String, Object>> rows = new ArrayList<>();
    out.println("job (score through Spark, each output checked on 16 sampled rows):");
    out.printf("%-18s %9s %9s %9s %9s %9s %9s %11s %s%n", "case", "score_s", "read_s", "route_s", "compute_s",
        "merge_s", "write_s", "kernels_s", "check");
    int i = 0;
    for (JobCase c : cases) {
      Path work = dir.resolve("job-work-" + i++);
      String input = work.resolve("tokens").toString();
      String output = work.resolve("attention").toString();
      TokenTable.writeParquet(SyntheticTokens.generate(spark, c.docs(), c.tokens(), c.heads(), c.dim(), 11,
          VectorEncoding.BF16), input, "overwrite");
      ScoreOptions options = new ScoreOptions(input, output, null, true, ScoreOptions.DEFAULT_BLOCK_SIZE,
          ScoreOptions.MergeMode.DISTRIBUTED, backend, gpu ? Precision.BF16 : null, Double.NaN, null, 0,
          ScoreOptions.AUTO_MAX_KV_SHARD_BYTES, 0, true, VectorEncoding.BF16, ScoreOptions.AUTO_WRITE_TASKS);
      ScoreJob.Result r = new ScoreJob(spark, options, Progress.quiet()).run();
      Dataset<Row> tokens = spark.read().parquet(input);
      Dataset<Row> attention = spark.read().parquet(output);
      java.io.ByteArrayOutputStream checkLog = new java.io.ByteArrayOutputStream();
      Precision precision = CheckCommand.computedIn(r.backends());
      boolean checked = CheckCommand.check(tokens, tokens, attention, new AttentionSpec(Double.NaN, true, precision),
          null, 1, 16, CheckCommand.defaultTolerance(precision), new PrintStream(checkLog));
      ScoreJob.Timings t = r.timings();
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("case", c.label());
      row.put("docs", c.docs());
      row.put("tokens", c.tokens());
      row.put("heads", c.heads());
      row.put("dim", c.dim());
      row.put("backends", r.backends());
      row.put("compute_precision", precision.label());
      row.put("score_s", r.millis() / 1e3);
      Map<String, Double> stages = new LinkedHashMap<>();
      stages.put("count, plan", t.readMillis() / 1e3);
      stages.put("read, pack, route", t.routeMillis() / 1e3);
      stages.put("compute", t.computeMillis() / 1e3);
      stages.put("merge", t.mergeMillis() / 1e3);
      stages.put("write", t.writeMillis() / 1e3);
      row.put("stages_s", stages);
      row.put("kernels_summed_s", r.kernelMillis() / 1e3);
      row.put("pairs", r.pairs());
      row.put("shuffle_bytes", t.shuffleBytes());
      row.put("checked_ok", checked);
      row.put("check", checkLog.toString().trim());
      rows.add(row);
      out.printf(Locale.ROOT, "%-18s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %11.2f %s%n", c.label(), r.millis() / 1e3,
          t.readMillis() / 1e3, t.routeMillis() / 1e3, t.computeMillis() / 1e3, t.mergeMillis() / 1e3,
          t.writeMillis() / 1e3, r.kernelMillis() / 1e3, checked ? "ok" : "FAIL");
      OutputPaths.deleteLocalTree(work, e -> { });
    }
    return rows;
  }

  private static void kernelPlot(List<KernelBench.Measurement> ms, boolean gpu, Path png) throws IOException {
    Map<String, XYSeries> series = new TreeMap<>();
    for (KernelBench.Measurement m : ms) {
      String key = m.precision() + " d" + m.dim() + (m.causal() ? " causal" : "");
      series.computeIfAbsent(key, XYSeries::new).add(m.tokens(), m.kernelFlopsPerSecond() * (gpu ? 1e-12 : 1e-9));
    }
    XYSeriesCollection data = new XYSeriesCollection();
    series.values().forEach(data::addSeries);
    JFreeChart chart = ChartFactory.createXYLineChart("Attention kernels, launched from Java", "N = M (tokens)",
        gpu ? "TFLOP/s" : "GFLOP/s", data, PlotOrientation.VERTICAL, true, false, false);
    LogAxis x = new LogAxis("N = M (tokens)");
    x.setBase(2);
    x.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1)); // ticks at whole powers of two
    chart.getXYPlot().setDomainAxis(x);
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 550);
  }

  @SuppressWarnings("unchecked")
  private static void stagePlot(List<Map<String, Object>> jobs, Path png) throws IOException {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    for (Map<String, Object> j : jobs) {
      ((Map<String, Double>) j.get("stages_s")).forEach((stage, s) -> data.addValue(s, stage, (String) j.get("case")));
    }
    JFreeChart chart = ChartFactory.createStackedBarChart("score: wall time by stage", "case", "seconds", data,
        PlotOrientation.HORIZONTAL, true, false, false);
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 450);
  }
}
