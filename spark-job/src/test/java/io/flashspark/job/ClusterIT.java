package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/flashspark-cluster}: a standalone Master and two Worker JVMs on loopback with Spark's
 * authentication on, each worker offering one "GPU" as a Spark resource (addresses named through
 * FLASHSPARK_GPUS, as on a GPU host; the CPU backend computes), the job submitted to it, a
 * submission without the secret refused, a worker killed in the middle of a score survived with a
 * correct output, {@code --backend gpu} without a CUDA driver failing clearly with nothing written,
 * and nothing left running after {@code stop}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path CLUSTER = ROOT.resolve("bin/flashspark-cluster");
  @TempDir static Path dir;
  private static Path state;

  private static Launched start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(CLUSTER.toString()));
    cmd.addAll(List.of(args));
    return Launched.start(cmd, java.util.Map.of("FLASHSPARK_CLUSTER_DIR", state.toString(), "FLASHSPARK_JAVA_OPTS",
        "-Xmx1g", "FLASHSPARK_GPUS", "fake-gpu-a,fake-gpu-b"));
  }

  private static Launched finished(String... args) throws Exception {
    Launched r = start(args);
    assertTrue(r.process().waitFor(400, TimeUnit.SECONDS), "finished: " + String.join(" ", args));
    Thread.sleep(200); // the reader drains the last lines
    return r;
  }

  @BeforeAll
  static void startCluster() throws Exception {
    assertTrue(Files.isExecutable(CLUSTER), CLUSTER + " (run mvn package first)");
    state = dir.resolve("cluster");
    Launched r = finished("start", "2", "--gpus-per-worker", "1", "--cores", "1", "--memory", "1g");
    assertEquals(0, r.process().exitValue(), r.lines().toString());
    assertTrue(r.lines().stream().anyMatch(s -> s.startsWith("master spark://127.0.0.1:")), r.lines().toString());
    // the master saw each worker offer its own GPU, found by conf/gpu-discovery.sh
    for (String gpu : List.of("fake-gpu-a", "fake-gpu-b")) {
      assertEquals(1, r.lines().stream().filter(s -> s.endsWith("GPUs [" + gpu + "]")).count(), r.lines().toString());
    }
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (state != null) {
      finished("stop");
    }
  }

  @Test
  @Order(1)
  void theSecretIsTheUsersAndASubmissionWithoutItIsRefused() throws Exception {
    Path conf = state.resolve("spark.conf");
    assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(conf));
    // the profile conf/spark-standalone.conf adds its settings to those start derives from its flags
    List<String> settings = Files.readAllLines(conf);
    assertTrue(settings.contains("spark.shuffle.reduceLocality.enabled false"), settings.toString());
    assertEquals(1, settings.stream().filter(l -> l.startsWith("spark.executor.cores ")).count(), settings.toString());
    String master = Files.readString(state.resolve("master-url")).trim();
    Path jar;
    try (var s = Files.list(ROOT.resolve("spark-job/target"))) {
      jar = s.filter(p -> p.getFileName().toString().endsWith("-cluster.jar")).findFirst().orElseThrow();
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-cp", jar + ":" + ROOT.resolve("spark-job/target/lib") + "/*",
        "org.apache.spark.deploy.SparkSubmit", "--master", master, "--class", "io.flashspark.job.FlashSpark",
        jar.toString(), "generate", "--output", dir.resolve("intruder").toString(), "--tokens", "10", "--dim", "4"));
    cmd.addAll(1, Files.readAllLines(ROOT.resolve("conf/jvm-options")).stream()
        .filter(l -> !l.isBlank() && !l.trim().startsWith("#")).collect(Collectors.toList()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("intruder.log").toFile())
        .start();
    assertTrue(p.waitFor(300, TimeUnit.SECONDS));
    assertNotEquals(0, p.exitValue(), "a submission without the secret must fail");
    assertTrue(Files.readString(dir.resolve("intruder.log")).contains("SaslRpcHandler"),
        "refused by the master's authentication");
    assertTrue(!Files.exists(dir.resolve("intruder").resolve("_SUCCESS")), "nothing written");
  }

  @Test
  @Order(2)
  void aWorkerKilledDuringScoreIsSurvived() throws Exception {
    String tokens = dir.resolve("tokens").toString();
    String out = dir.resolve("attention").toString();
    Launched gen = finished("submit", "generate", "--output", tokens, "--docs", "1", "--tokens", "24576", "--heads", "2",
        "--dim", "64", "--packed", "bf16");
    assertEquals(0, gen.process().exitValue(), gen.lines().toString());
    Launched score = start("submit", "score", "--input", tokens, "--output", out, "--causal", "--backend", "cpu");
    // while the cells compute (each takes several seconds on one core), kill worker 2 and its
    // executor outright, as a lost machine would be
    long deadline = System.currentTimeMillis() + 300_000;
    while (System.currentTimeMillis() < deadline
        && score.lines().stream().noneMatch(s -> s.contains("] computing "))) {
      assertTrue(score.process().isAlive(), "score ended early: " + score.lines());
      Thread.sleep(200);
    }
    Thread.sleep(3000);
    assertTrue(score.process().isAlive(), "still computing when the worker is killed: " + score.lines());
    // nobody else gets in: master, workers, executors and the driver (its RPC, block manager and
    // web UI) listen on loopback only
    List<ProcessHandle> cluster = new ArrayList<>();
    for (String name : List.of("master.pid", "worker-1.pid", "worker-2.pid")) {
      ProcessHandle h = ProcessHandle.of(Long.parseLong(Files.readString(state.resolve(name)).trim())).orElseThrow();
      cluster.add(h);
      h.descendants().forEach(cluster::add);
    }
    score.process().toHandle().descendants().forEach(cluster::add);
    int ports = 0;
    for (ProcessHandle h : cluster) {
      for (String address : Launched.listening(h.pid())) {
        ports++;
        assertTrue(Launched.loopback(address), "process " + h.pid() + " " + h.info().command().orElse("") + " listens on "
            + address);
      }
    }
    assertTrue(ports >= 8, "master, workers, executors and driver listen somewhere: " + ports + " ports");
    long worker = Long.parseLong(Files.readString(state.resolve("worker-2.pid")).trim());
    ProcessHandle handle = ProcessHandle.of(worker).orElseThrow();
    handle.descendants().forEach(ProcessHandle::destroyForcibly);
    handle.destroyForcibly();
    assertTrue(score.process().waitFor(400, TimeUnit.SECONDS), "score finished");
    assertEquals(0, score.process().exitValue(), "the job survives a lost worker: " + score.lines());
    assertTrue(score.lines().stream().anyMatch(s -> s.contains("(Spark GPU fake-gpu-a)")),
        "cell tasks ran with the GPU Spark assigned them: " + score.lines());
    String driverLog = Files.readString(state.resolve("submit.log"));
    assertTrue(driverLog.contains("Lost executor") || driverLog.contains("lost executor"),
        "Spark saw the executor go and ran its tasks again");
    Launched check = finished("submit", "check", "--input", tokens, "--output", out, "--causal", "--rows", "32");
    assertEquals(0, check.process().exitValue(), check.lines().toString());
    assertTrue(check.lines().stream().anyMatch(s -> s.equals("output rows missing or extra: 0")), check.lines().toString());
  }

  @Test
  @Order(3)
  void theGpuBackendWithoutACudaDriverFailsClearlyAndWritesNothing() throws Exception {
    String out = dir.resolve("gpu-attention").toString();
    Launched score = finished("submit", "score", "--input", dir.resolve("tokens").toString(), "--output", out,
        "--causal", "--backend", "gpu");
    assertEquals(1, score.process().exitValue(), score.lines().toString());
    assertTrue(score.lines().stream().anyMatch(s -> s.startsWith("flashspark: failed: GPU: GPU backend unusable at"
        + " GPU address fake-gpu-") && s.contains("no CUDA driver could be loaded")), score.lines().toString());
    assertTrue(!Files.exists(Path.of(out)), "no output");
  }

  @Test
  @Order(4)
  void stopLeavesNoProcess() throws Exception {
    List<Long> pids = new ArrayList<>();
    try (var s = Files.list(state)) {
      for (Path p : s.filter(f -> f.getFileName().toString().endsWith(".pid")).collect(Collectors.toList())) {
        pids.add(Long.parseLong(Files.readString(p).trim()));
      }
    }
    assertTrue(pids.size() >= 2, "master and a worker were recorded: " + pids);
    Launched stop = finished("stop");
    assertEquals(0, stop.process().exitValue(), stop.lines().toString());
    for (long pid : pids) {
      assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "process " + pid + " still runs");
    }
    // no JVM of this cluster anywhere (executors included): their command lines name its directory
    List<String> left = ProcessHandle.allProcesses()
        .filter(h -> h.info().commandLine().map(c -> c.contains(state.toString())).orElse(false))
        .map(h -> h.pid() + " " + h.info().commandLine().orElse("")).collect(Collectors.toList());
    assertEquals(List.of(), left);
    Launched status = finished("status");
    assertEquals(3, status.process().exitValue(), status.lines().toString());
  }
}
