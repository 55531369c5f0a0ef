package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench --sweep smoke}: checked kernels and jobs, a table, results.json and two PNG plots. */
class BenchSweepTest extends SparkTestBase {
  @TempDir Path dir;

  private static void assertPng(Path p) throws Exception {
    byte[] head = Arrays.copyOf(Files.readAllBytes(p), 8);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head, p + " is a PNG");
    assertTrue(Files.size(p) > 5000, p + " has a chart in it");
  }

  @Test
  void smokeSweepChecksTimesAndWritesResultsAndPlots() throws Exception {
    Path out = dir.resolve("bench");
    long t0 = System.nanoTime();
    Outcome o = cli("bench", "--sweep", "smoke", "--output", out.toString(), "--backend", "cpu");
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.println(o.out());
    System.out.printf("bench --sweep smoke took %.1f s%n", seconds);
    assertEquals(0, o.code(), o.err());
    assertTrue(o.out().contains("kernel GFLOP/s") && o.out().contains("compute_s"), o.out());
    JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
    assertEquals("smoke", results.get("sweep").asText());
    assertEquals(4, results.get("kernels").size(), "d 64 x N 256, 1024 x causal no, yes");
    for (JsonNode k : results.get("kernels")) {
      assertTrue(k.get("ok").asBoolean() && k.get("kernel_flops_per_s").asDouble() > 0, k.toString());
    }
    assertEquals(2, results.get("jobs").size());
    for (JsonNode j : results.get("jobs")) {
      assertTrue(j.get("checked_ok").asBoolean(), j.toString());
      assertTrue(j.get("stages_s").get("compute").asDouble() > 0, j.toString());
    }
    assertPng(out.resolve("kernels.png"));
    assertPng(out.resolve("job-stages.png"));
    try (var s = Files.list(out)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("job-work")), "inputs cleaned up");
    }
  }

  @Test
  void aSweepNeedsAKnownKindAndAnOutput() {
    Outcome o = cli("bench", "--sweep", "everything", "--output", dir.toString());
    assertEquals(2, o.code());
    assertTrue(o.err().contains("sweep"), o.err());
    assertEquals(2, cli("bench", "--sweep", "smoke").code());
  }
}
