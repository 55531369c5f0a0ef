package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/flashspark} with the RAPIDS Accelerator loaded as users load it
 * ({@code FLASHSPARK_RAPIDS_JAR}: through SparkSubmit, conf/spark-rapids.conf over the local profile),
 * on a machine without a GPU: the plugin in its explain-only mode ({@code spark.rapids.sql.mode=explainOnly})
 * starts, plans as it would on a GPU host and logs which operators it would place on the GPU, while the
 * CPU runs the query. What this holds: the launcher's plugin path starts and finishes, {@code flash_attention}
 * is the columnar class and the plugin would run its projection (scan, UDF and write) on the GPU, the
 * results equal those of a run without the plugin, {@code --explain} prints the plugin's own account of
 * what it would leave on the CPU and why ({@link RapidsExplain}), and the job ({@code score}) under the
 * plugin still has its cells read their input partitions themselves. Whether the GPU runs them is checked on a GPU host
 * only ({@code tools/gpu-host/run-rapids.sh}). Built and run by the rapids profile
 * ({@code -Drapids.jar} is the plugin's jar).
 */
class RapidsPluginIT {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path LAUNCHER = ROOT.resolve("bin/flashspark");
  private static final String RAPIDS_JAR = System.getProperty("rapids.jar");
  @TempDir static Path shared;
  private static Path vectors;
  private static Path tokens;

  private record Run(int exit, List<String> console, List<String> log) {}

  /** bin/flashspark, with the plugin in explain-only mode (explaining every operator) when {@code plugin}. */
  private static Run run(Path tmp, boolean plugin, String... args) throws Exception {
    Path log = Files.createTempFile(tmp, "driver", ".log");
    Map<String, String> env = new HashMap<>(Map.of("TMPDIR", tmp.toString(), "FLASHSPARK_CDS", "off",
        "FLASHSPARK_LOG", log.toString()));
    String opts = "-Xmx3g -Djava.io.tmpdir=" + tmp;
    if (plugin) {
      env.put("FLASHSPARK_RAPIDS_JAR", RAPIDS_JAR);
      opts += " -Dspark.rapids.sql.mode=explainOnly -Dspark.rapids.sql.explain=ALL";
    }
    env.put("FLASHSPARK_JAVA_OPTS", opts);
    List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
    cmd.addAll(List.of(args));
    Launched l = Launched.start(cmd, env);
    assertTrue(l.process().waitFor(300, TimeUnit.SECONDS), "finished: " + String.join(" ", args));
    l.process().waitFor();
    Thread.sleep(200); // the reader thread's last lines
    synchronized (l.lines()) {
      return new Run(l.process().exitValue(), new ArrayList<>(l.lines()), Files.readAllLines(log));
    }
  }

  private static boolean has(List<String> lines, String text) {
    return lines.stream().anyMatch(s -> s.contains(text));
  }

  @BeforeAll
  static void inputs() throws Exception {
    assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER + " (run mvn package first)");
    assertTrue(RAPIDS_JAR != null && Files.isReadable(Path.of(RAPIDS_JAR)), "the plugin's jar: " + RAPIDS_JAR);
    vectors = shared.resolve("vectors");
    // 2,000 rows of q array<float> (d 16) against 8 keys and values each, from deterministic functions
    String rows = "SELECT id, transform(sequence(1, 16), i -> CAST(sin(id * 31 + i) AS FLOAT)) AS q,"
        + " transform(sequence(1, 8), j -> transform(sequence(1, 16), i -> CAST(sin(id * 7 + j * 1000 + i) AS FLOAT)))"
        + " AS keys, transform(sequence(1, 8), j -> transform(sequence(1, 16), i -> CAST(cos(id * 5 + j * 999 + i)"
        + " AS FLOAT))) AS `values` FROM range(0, 2000)";
    assertEquals(0, run(shared, false, "sql", "--output", vectors.toString(), rows).exit());
    tokens = shared.resolve("tokens");
    assertEquals(0, run(shared, false, "generate", "--output", tokens.toString(), "--docs", "2", "--tokens", "4096",
        "--heads", "2", "--dim", "64", "--packed", "bf16").exit());
  }

  @Test
  void thePluginWouldRunFlashAttentionsScanProjectionAndWriteOnTheGpuAndTheResultsEqualTheRowPaths(
      @TempDir Path tmp) throws Exception {
    String query = "SELECT id, flash_attention(q, keys, `values`) AS r FROM t";
    Path withPlugin = tmp.resolve("with-plugin");
    Path without = tmp.resolve("without");
    Run p = run(tmp, true, "sql", "--table", "t=" + vectors, "--output", withPlugin.toString(), "--explain", query);
    assertEquals(0, p.exit(), "with the plugin: " + p.console());
    assertTrue(has(p.log(), "RAPIDS Accelerator") && has(p.log(), "explain only mode"), "the plugin started");
    assertTrue(has(p.console(), "flash_attention: columnar implementation"), p.console().toString());
    // --explain prints the plugin's own account beside the plan: here nothing left on the CPU
    int account = p.console().indexOf("The RAPIDS Accelerator: what it would leave on the CPU, and why");
    assertTrue(account >= 0, "the plugin's account in --explain: " + p.console());
    assertEquals("every operator would run on the GPU", p.console().get(account + 1), p.console().toString());
    for (String operator : List.of("<ScalaUDF> flash_attention(", "<ProjectExec> will run on GPU",
        "<FileSourceScanExec> will run on GPU", "<InsertIntoHadoopFsRelationCommand> will run on GPU")) {
      assertTrue(p.log().stream().anyMatch(s -> s.contains(operator) && s.contains("will run on GPU")),
          operator + " in the plugin's explanation: " + p.log());
    }
    assertEquals(0, run(tmp, false, "sql", "--table", "t=" + vectors, "--output", without.toString(), query).exit());
    Run compared = run(tmp, false, "sql", "--table", "a=" + withPlugin, "--table", "b=" + without,
        "SELECT count(*) AS n, count_if(a.r IS DISTINCT FROM b.r) AS differing FROM a FULL OUTER JOIN b ON a.id = b.id");
    assertTrue(compared.console().stream().anyMatch(l -> l.matches("\\|2000\\|0 +\\|")),
        "2,000 rows, none differing: " + compared.console());
  }

  @Test
  void theJobUnderThePluginStillHasItsCellsReadTheirInputAndItsOutputChecks(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("scored");
    Run p = run(tmp, true, "score", "--input", tokens.toString(), "--output", out.toString(), "--causal", "--explain");
    assertEquals(0, p.exit(), "with the plugin: " + p.console());
    assertTrue(has(p.log(), "explain only mode"), "the plugin started");
    assertTrue(p.console().stream().anyMatch(s -> s.contains("cells read their") && s.contains("themselves")),
        "no routing shuffle under the plugin: " + p.console());
    // the cells' output rows come from an RDD, which the plugin leaves on the CPU: --explain says so, and why
    int account = p.console().indexOf("The RAPIDS Accelerator: what it would leave on the CPU, and why");
    assertTrue(account >= 0, "the plugin's account in --explain: " + p.console());
    assertTrue(p.console().subList(account, p.console().size()).stream()
        .anyMatch(s -> s.contains("RDDScanExec") && s.contains("cannot run on GPU because")), p.console().toString());
    assertTrue(has(p.console(), "The output is written by VectorParquetFormat"), p.console().toString());
    Run check = run(tmp, false, "check", "--input", tokens.toString(), "--output", out.toString(), "--causal",
        "--doc-heads", "4", "--rows", "64");
    assertEquals(0, check.exit(), check.console().toString());
  }
}
