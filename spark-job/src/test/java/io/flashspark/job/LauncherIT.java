package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/flashspark} as users run it (after {@code mvn package}): exit codes the launcher
 * maps, bounded memory (a 1M-token document on a 2 GB heap reaches the compute stage and reports
 * progress) and no debris after SIGTERM or SIGKILL (no output, no staging directory, no Spark
 * scratch directory once the next run has started).
 */
class LauncherIT {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent(); // spark-job/.. = the repository
  private static final Path LAUNCHER = ROOT.resolve("bin/flashspark");
  @TempDir static Path shared;
  private static String longDocument;

  /**
   * bin/flashspark with its own temporary directory (Spark scratch space, log), without a class data
   * sharing archive (no archive dumped in the background while other tests run; one test covers it).
   */
  private static Launched start(Path tmp, String heap, String... args) throws IOException {
    return start(tmp, Map.of("FLASHSPARK_CDS", "off"), heap, args);
  }

  private static Launched start(Path tmp, Map<String, String> env, String heap, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
    cmd.addAll(List.of(args));
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("TMPDIR", tmp.toString());
    all.put("FLASHSPARK_JAVA_OPTS", heap + " -Djava.io.tmpdir=" + tmp);
    return Launched.start(cmd, all);
  }

  private static boolean waitFor(Launched l, Predicate<String> line, long seconds) throws InterruptedException {
    long end = System.currentTimeMillis() + seconds * 1000;
    while (System.currentTimeMillis() < end) {
      synchronized (l.lines()) {
        if (l.lines().stream().anyMatch(line)) {
          return true;
        }
      }
      if (!l.process().isAlive()) {
        return l.lines().stream().anyMatch(line);
      }
      Thread.sleep(200);
    }
    return false;
  }

  private static int run(Path tmp, String... args) throws Exception {
    Launched l = start(tmp, "-Xmx2g", args);
    assertTrue(l.process().waitFor(300, TimeUnit.SECONDS), "finished");
    return l.process().exitValue();
  }

  @BeforeAll
  static void generateLongDocument() throws Exception {
    assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER + " (run mvn package first)");
    longDocument = shared.resolve("long").toString();
    assertEquals(0, run(shared, "generate", "--output", longDocument, "--docs", "1", "--tokens", "1048576", "--heads",
        "1", "--dim", "64", "--packed", "bf16"));
  }

  private static List<String> entries(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  /** Spark scratch directories under the process's tmp (ScratchDirs: TMP/flashspark-USER/spark-*). */
  private static List<String> scratch(Path tmp) throws IOException {
    return entries(tmp.resolve("flashspark-" + System.getProperty("user.name"))).stream()
        .filter(n -> n.startsWith("spark-")).collect(Collectors.toList());
  }

  @Test
  void twoGigabyteHeapReachesTheComputeStageAndSigtermLeavesNoDebris(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("outputs");
    Files.createDirectories(out);
    Launched l = start(tmp, "-Xmx2g", "score", "--input", longDocument, "--output", out.resolve("attention").toString(),
        "--causal", "--backend", "cpu");
    // the planner splits Q and KV for a 2 GB heap; running tasks report their pairs with an ETA
    assertTrue(waitFor(l, s -> s.contains("split for task memory"), 240), "planned: " + l.lines());
    assertTrue(waitFor(l, s -> s.contains("query-key pairs") && s.contains("left (estimated)"), 240),
        "compute progress: " + l.lines());
    assertTrue(l.process().isAlive(), "still computing, not out of memory: " + l.lines());
    // conf/spark-local.conf: the embedded Spark (RPC, block manager, web UI) listens on loopback only
    List<String> ports = new java.util.ArrayList<>();
    l.process().toHandle().descendants().forEach(h -> {
      try {
        ports.addAll(Launched.listening(h.pid()));
      } catch (IOException e) {
        // gone meanwhile
      }
    });
    ports.addAll(Launched.listening(l.process().pid()));
    assertTrue(ports.size() >= 3, "RPC, block manager and web UI: " + ports);
    assertTrue(ports.stream().allMatch(Launched::loopback), "loopback only: " + ports);
    assertFalse(scratch(tmp).isEmpty(), "Spark's scratch space is under the run's own directory");
    l.process().toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its pipes)
    assertTrue(l.process().waitFor(60, TimeUnit.SECONDS));
    assertEquals(143, l.process().exitValue(), "interrupted: " + l.lines());
    assertTrue(l.lines().stream().noneMatch(s -> s.startsWith("\tat ") || s.contains("Exception")),
        "one line on the console, no stack trace of a dying Spark thread: " + l.lines());
    assertEquals(List.of(), entries(out), "no output and no staging directory after SIGTERM");
    assertEquals(List.of(), scratch(tmp), "Spark's scratch space deleted on SIGTERM");
  }

  @Test
  void afterSigkillTheNextRunRemovesWhatTheKilledOneLeft(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("outputs");
    Files.createDirectories(out);
    String output = out.resolve("attention").toString();
    Launched l = start(tmp, "-Xmx2g", "score", "--input", longDocument, "--output", output, "--causal", "--backend",
        "cpu");
    assertTrue(waitFor(l, s -> s.contains("computing"), 240), l.lines().toString());
    Thread.sleep(3000); // the write job has set up its staging directory
    l.process().descendants().forEach(ProcessHandle::destroyForcibly); // SIGKILL the JVM: no shutdown hook runs
    assertTrue(l.process().waitFor(60, TimeUnit.SECONDS));
    assertFalse(scratch(tmp).isEmpty(), "a killed run leaves its scratch space");
    // the next run for the same output (a small input) cleans up and succeeds
    String small = tmp.resolve("small").toString();
    assertEquals(0, run(tmp, "generate", "--output", small, "--tokens", "64", "--dim", "8"));
    assertEquals(List.of(), scratch(tmp), "the dead run's scratch space was removed by the next run");
    assertEquals(0, run(tmp, "score", "--input", small, "--output", output, "--backend", "cpu"));
    assertEquals(List.of("attention"), entries(out), "only the new output, no staging directory");
  }

  @Test
  void outOfMemoryExitOfSparkBecomesOneLineAndExitCodeOne(@TempDir Path tmp) throws Exception {
    // a stand-in java that exits as Spark's executor does on OutOfMemoryError in local mode (52)
    Path fakeJdk = Files.createDirectories(tmp.resolve("jdk/bin"));
    Path java = fakeJdk.resolve("java");
    Files.writeString(java, "#!/bin/sh\nexit 52\n");
    assertTrue(java.toFile().setExecutable(true));
    ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "score", "--input", "x", "--output", "y")
        .redirectErrorStream(true);
    pb.environment().put("JAVA_HOME", tmp.resolve("jdk").toString());
    pb.environment().put("TMPDIR", tmp.toString());
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(1, p.exitValue(), output);
    assertTrue(output.contains("out of memory") && output.contains("FLASHSPARK_JAVA_OPTS"), output);
    assertEquals(1, output.strip().lines().count(), output);
  }

  @Test
  void consoleShowsOneLinePerFailureAndTheLogHoldsTheTrace(@TempDir Path tmp) throws Exception {
    Launched l = start(tmp, "-Xmx1g", "check", "--input", tmp.resolve("missing").toString(), "--output", "x");
    assertTrue(l.process().waitFor(120, TimeUnit.SECONDS));
    assertEquals(2, l.process().exitValue(), l.lines().toString());
    List<String> ours = l.lines().stream().filter(s -> !s.startsWith("WARNING: Using incubator"))
        .collect(Collectors.toList());
    assertEquals(1, ours.size(), ours.toString());
    assertTrue(ours.get(0).startsWith("flashspark: error: input table") && ours.get(0).contains("does not exist"),
        ours.toString());
  }

  /**
   * The class data sharing archive: the first run records its classes and, once it has exited, a
   * background JVM dumps the archive; the next run maps it ({@code -Xshare:on} refuses to start
   * without a usable archive) and loads its classes from it. Nothing else is left in the directory.
   */
  @Test
  void aFirstRunLeavesAClassDataSharingArchiveThatTheNextMaps(@TempDir Path tmp) throws Exception {
    Path cds = tmp.resolve("cds");
    Map<String, String> env = Map.of("FLASHSPARK_CDS_DIR", cds.toString());
    Launched first = start(tmp, env, "-Xmx1g", "--help");
    assertTrue(first.process().waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, first.process().exitValue(), first.lines().toString());
    long end = System.currentTimeMillis() + 240_000;
    List<String> made = entries(cds);
    // the class list goes once the archive is in place
    while (!(made.size() == 1 && made.get(0).endsWith(".jsa")) && System.currentTimeMillis() < end) {
      Thread.sleep(500);
      made = entries(cds);
    }
    assertEquals(1, made.size(), "one archive and nothing else: " + made);
    assertTrue(made.get(0).matches("cds-[0-9a-f]{16}\\.jsa"), made.toString());
    Path classes = tmp.resolve("classes.txt");
    Launched next = start(tmp, env, "-Xmx1g -Xshare:on -Xlog:class+load=info:file=" + classes, "--help");
    assertTrue(next.process().waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, next.process().exitValue(), next.lines().toString());
    long shared;
    try (Stream<String> lines = Files.lines(classes)) {
      shared = lines.filter(l -> l.contains("source: shared objects file")).count();
    }
    assertTrue(shared > 500, shared + " classes from the archive");
    assertEquals(made, entries(cds), "the second run made nothing new");
  }

  @Test
  void sparkSettingsInJavaOptsReachTheSession(@TempDir Path tmp) throws Exception {
    String small = tmp.resolve("small").toString();
    assertEquals(0, run(tmp, "generate", "--output", small, "--tokens", "300", "--dim", "8", "--packed", "bf16"));
    Path events = Files.createDirectories(tmp.resolve("events"));
    Launched l = start(tmp, "-Xmx1g -Dspark.eventLog.enabled=true -Dspark.eventLog.dir=" + events.toUri()
        + " -Dspark.eventLog.compress=false", "score", "--input", small, "--output", tmp.resolve("out").toString(),
        "--causal", "--backend", "cpu", "--output-format", "bf16");
    assertTrue(l.process().waitFor(300, TimeUnit.SECONDS));
    assertEquals(0, l.process().exitValue(), l.lines().toString());
    assertTrue(l.lines().stream().anyMatch(s -> s.startsWith("  shuffled ") && s.contains("q/k/v payload")),
        "the summary gives the bytes shuffled: " + l.lines());
    List<Path> logs;
    try (Stream<Path> s = Files.walk(events)) {
      // Spark 4 writes a folder eventlog_v2_APP holding events_N_APP files (and an appstatus marker)
      logs = s.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().startsWith("events_"))
          .collect(Collectors.toList());
    }
    assertFalse(logs.isEmpty(), "Spark wrote an event log where -Dspark.eventLog.dir said");
    String text = Files.readString(logs.get(0));
    assertTrue(text.contains("SparkListenerApplicationStart") && text.contains("SparkListenerTaskEnd"),
        text.substring(0, Math.min(300, text.length())));
  }
}
