package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The columnar data path: bytes shuffled against the q/k/v payload (Spark's own metrics), the
 * planner's estimate against them, one cell per partition, output formats, bad input found
 * across input files.
 */
class DataPathTest extends SparkTestBase {
  @TempDir Path dir;

  private ScoreJob.Result score(String input, String output, int cells, VectorEncoding format) {
    return score(input, output, cells, ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES, format);
  }

  private ScoreJob.Result score(String input, String output, int cells, long maxKvShardBytes, VectorEncoding format) {
    return score(input, output, cells, maxKvShardBytes, format, 0);
  }

  private ScoreJob.Result score(String input, String output, int cells, long maxKvShardBytes, VectorEncoding format,
      int writeTasks) {
    ScoreOptions withFormat = new ScoreOptions(input, output, null, true, 512, ScoreOptions.MergeMode.DISTRIBUTED,
        "cpu", null, Double.NaN, null, cells, maxKvShardBytes, 0, false, format, writeTasks);
    return FlashSpark.score(spark, withFormat, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(new ByteArrayOutputStream()));
  }

  /**
   * One cell per (doc, head) moves each q/k/v byte once; more cells replicate blocks (Q-stationary:
   * no merge); KV shards capped in size split the keys and merge partials; write tasks of their
   * own receive every final partial once. In every case Spark's shuffle bytes stay within 10% of
   * the planner's estimate.
   */
  @ParameterizedTest(name = "cells={0} max KV shard {1} B write tasks {4}")
  @CsvSource({"2, 1073741824, 1.5, false, 0", "8, 1073741824, 4.0, false, 0", "2, 100000, 6.0, true, 0",
      "2, 1073741824, 3.5, true, 4"})
  void shuffleBytesMatchThePlannersEstimate(int cells, long maxKvShardBytes, double maxRatio, boolean merges,
      int writeTasks) {
    String input = dir.resolve("tokens").toString();
    SyntheticTokens.generate(spark, 1, 4096, 2, 64, 5, VectorEncoding.BF16).write().parquet(input);
    ScoreJob.Result r = routed(() -> score(input, dir.resolve("out").toString(), cells, maxKvShardBytes,
        VectorEncoding.ARRAY, writeTasks));
    ScoreJob.Timings t = r.timings();
    assertEquals(2L * 4096 * 3 * 64 * 2, t.payloadBytes(), "bf16 q, k, v of 2 x 4096 tokens");
    double ratio = (double) t.shuffleBytes() / t.payloadBytes();
    double estimateError = Math.abs(t.estimatedBytes() - t.shuffleBytes()) / (double) t.shuffleBytes();
    String msg = "shuffled " + t.shuffleBytes() + " (route " + t.routeBytes() + ", merge " + t.mergeBytes()
        + "), estimate " + t.estimatedBytes() + ", payload " + t.payloadBytes();
    System.out.println("DataPathTest cells=" + cells + " maxKvShard=" + maxKvShardBytes + ": " + msg + "; " + r.plan().description());
    assertTrue(ratio <= maxRatio, msg);
    assertTrue(estimateError <= 0.10, msg);
    assertEquals(merges, t.mergeBytes() > 0, msg);
  }

  /** {@code job} with the routing shuffle even where cells could read their input themselves. */
  private static <T> T routed(java.util.function.Supplier<T> job) {
    System.setProperty("flashspark.directCells", "false");
    try {
      return job.get();
    } finally {
      System.clearProperty("flashspark.directCells");
    }
  }

  /**
   * A table written in (doc, head, pos) order, as the generator writes it: each head's cell reads
   * its own input partition, nothing of q/k/v is shuffled (Spark's metrics: only the count's few
   * hundred bytes) and the estimate says so; the output is the routed run's, within fp32 rounding,
   * and passes the float64 check. The same rows in no order fall back to the routing shuffle,
   * which then ships less than the cells would read.
   */
  @Test
  void cellsReadAClusteredTableThemselves() {
    String input = dir.resolve("tokens").toString();
    SyntheticTokens.generate(spark, 1, 4096, 2, 64, 5, VectorEncoding.BF16).write().parquet(input);
    String directOut = dir.resolve("out-direct").toString();
    String routedOut = dir.resolve("out-routed").toString();
    ScoreJob.Timings direct = score(input, directOut, 2, VectorEncoding.ARRAY).timings();
    ScoreJob.Timings routed = routed(() -> score(input, routedOut, 2, VectorEncoding.ARRAY)).timings();
    String msg = "direct: shuffled " + direct.shuffleBytes() + ", estimate " + direct.estimatedBytes() + "; routed: "
        + routed.routeBytes();
    System.out.println("DataPathTest " + msg);
    assertEquals(0, direct.routeBytes(), msg);
    assertEquals(0, direct.estimatedBytes(), msg);
    assertTrue(direct.shuffleBytes() < direct.payloadBytes() / 1000, msg);
    assertTrue(routed.routeBytes() >= routed.payloadBytes(), msg);
    assertSameOutput(directOut, routedOut, 2 * 4096);
    Outcome check = cli("check", "--input", input, "--output", directOut, "--causal", "--rows", "40");
    assertEquals(0, check.code(), check.out() + check.err());

    String mixed = dir.resolve("mixed").toString();
    spark.read().parquet(input).repartition(3).write().parquet(mixed);
    ScoreJob.Timings m = score(mixed, dir.resolve("out-mixed").toString(), 8, VectorEncoding.ARRAY).timings();
    assertTrue(m.routeBytes() > 0, "rows in no order: routed, " + m.routeBytes());
  }

  /**
   * Spark packs file splits into scan partitions by size, not by key: with one file per head and
   * two files to a partition, each head's cell task reads a partition that also holds another
   * head. It skips that head's row groups unread (their statistics say whose they are), and the
   * output is the routed run's. With all four heads in one partition the cells still read it
   * themselves (the planner counts what each task reads after skipping, not the whole partition
   * four times) and each skips three heads.
   */
  @Test
  void cellsSkipRowGroupsOfOtherCells() {
    String generated = dir.resolve("generated").toString();
    SyntheticTokens.generate(spark, 1, 2048, 4, 32, 7, VectorEncoding.BF16).write().parquet(generated);
    String input = dir.resolve("by-head").toString();
    for (int head = 0; head < 4; head++) { // one file per head, in position order
      spark.read().parquet(generated).where(functions.col("head").equalTo(head)).coalesce(1)
          .sortWithinPartitions("pos").write().mode("append").parquet(input);
    }
    long fileBytes = 0;
    int files = 0;
    for (java.io.File f : new java.io.File(input).listFiles()) {
      if (f.getName().endsWith(".parquet")) {
        fileBytes = Math.max(fileBytes, f.length());
        files++;
      }
    }
    assertEquals(4, files, "one file per head");
    String[] keys = {"spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes",
        "spark.sql.files.minPartitionNum"};
    String[] before = {spark.conf().get(keys[0]), spark.conf().get(keys[1]), spark.conf().getOption(keys[2]).getOrElse(() -> null)};
    spark.conf().set(keys[0], 2 * fileBytes + 64);
    spark.conf().set(keys[1], 0);
    try {
      ScoreJob.Timings direct = score(input, dir.resolve("out-direct").toString(), 4, VectorEncoding.ARRAY).timings();
      ScoreJob.Timings routed = routed(() -> score(input, dir.resolve("out-routed").toString(), 4,
          VectorEncoding.ARRAY)).timings();
      String msg = "direct: routed " + direct.routeBytes() + " B, skipped " + direct.skippedInputBytes() + " B of "
          + files + " files of at most " + fileBytes + " B";
      System.out.println("DataPathTest " + msg);
      assertEquals(0, direct.routeBytes(), msg);
      // tasks whose partition holds another head skip its row group (a file's one row group: nearly its size)
      assertTrue(direct.skippedInputBytes() >= fileBytes * 9 / 10, msg);
      assertEquals(0, routed.skippedInputBytes(), msg);
      // all four heads in one partition: each task reads a quarter of it, so the cells still read it themselves
      spark.conf().set(keys[0], 4 * fileBytes + 64);
      spark.conf().set(keys[2], 1); // else Spark splits the table over the session's 2 cores
      ScoreJob.Timings one = score(input, dir.resolve("out-one").toString(), 4, VectorEncoding.ARRAY).timings();
      String oneMsg = "one partition: routed " + one.routeBytes() + " B, skipped " + one.skippedInputBytes() + " B";
      System.out.println("DataPathTest " + oneMsg);
      assertEquals(0, one.routeBytes(), oneMsg);
      assertTrue(one.skippedInputBytes() >= 12 * fileBytes * 9 / 10, oneMsg); // each of 4 tasks skips 3 heads
    } finally {
      spark.conf().set(keys[0], before[0]);
      spark.conf().set(keys[1], before[1]);
      if (before[2] == null) {
        spark.conf().unset(keys[2]);
      } else {
        spark.conf().set(keys[2], before[2]);
      }
    }
    assertSameOutput(dir.resolve("out-direct").toString(), dir.resolve("out-routed").toString(), 4 * 2048);
    assertSameOutput(dir.resolve("out-one").toString(), dir.resolve("out-routed").toString(), 4 * 2048);
  }

  /** Two outputs ({@code array} format) hold the same {@code rows} rows, o and lse equal within fp32 rounding. */
  @Test
  void cellsLandOnePerPartition() {
    for (int n = 1; n <= 70; n++) {
      int[] keys = CellPartitions.keys(n);
      for (int p = 0; p < n; p++) {
        assertEquals(p, CellPartitions.partitionOf(keys[p], n));
      }
    }
    int n = 13;
    int[] keys = CellPartitions.keys(n);
    List<Integer> values = new ArrayList<>();
    for (int p = 0; p < n; p++) {
      values.add(keys[p]);
    }
    Dataset<Row> placed = spark.createDataset(values, Encoders.INT()).toDF("part")
        .repartition(n, functions.col("part")).withColumn("pid", functions.spark_partition_id());
    for (Row row : placed.collectAsList()) {
      int p = -1;
      for (int i = 0; i < n; i++) {
        p = keys[i] == row.getInt(0) ? i : p;
      }
      assertEquals(p, row.getInt(1), "Spark put key " + row.getInt(0) + " elsewhere");
    }
  }

  @Test
  void outputFormatsCarryTheSameValuesAndCheckReadsThemAll() {
    String input = dir.resolve("tokens").toString();
    SyntheticTokens.generate(spark, 1, 1500, 2, 16, 9, VectorEncoding.FP32).write().parquet(input);
    List<float[]> byFormat = new ArrayList<>();
    for (VectorEncoding format : List.of(VectorEncoding.ARRAY, VectorEncoding.FP32, VectorEncoding.BF16)) {
      String out = dir.resolve("out-" + format.label()).toString();
      score(input, out, 2, format);
      Dataset<Row> table = spark.read().parquet(out);
      assertEquals(format, OutputTable.format(table.schema(), out));
      Row row = table.where("head = 1 and pos = 1234").first();
      byFormat.add(OutputTable.outputVector(row, format));
      Outcome check = cli("check", "--input", input, "--output", out, "--causal", "--rows", "40");
      assertEquals(0, check.code(), format + ": " + check.out() + check.err());
      assertTrue(check.out().contains("OK"), check.out());
    }
    // separate runs agree to fp32 rounding (the CPU kernel's SIMD reductions may sum in another
    // order once the JIT has compiled them); bf16 adds its own rounding, half an ulp of 2^-8
    for (int c = 0; c < byFormat.get(0).length; c++) {
      float x = byFormat.get(0)[c];
      assertEquals(x, byFormat.get(1)[c], 1e-5 * Math.max(1, Math.abs(x)));
      assertEquals(x, byFormat.get(2)[c], Math.abs(x) * 0x1p-8 + 1e-5);
    }
    Outcome fp16 = cli("score", "--input", input, "--output", dir.resolve("o-bad").toString(), "--output-format", "fp16");
    assertEquals(2, fp16.code());
    assertTrue(fp16.err().contains("--output-format must be one of array|fp32|bf16"), fp16.err());
    Outcome viaCli = cli("score", "--input", input, "--output", dir.resolve("o-cli").toString(), "--causal",
        "--output-format", "bf16", "--backend", "cpu");
    assertEquals(0, viaCli.code(), viaCli.err());
    assertEquals(VectorEncoding.BF16, OutputTable.format(spark.read().parquet(dir.resolve("o-cli").toString()).schema(), ""));
  }

  @Test
  void aPositionRepeatedInAnotherInputFileIsBadInput() {
    String input = dir.resolve("tokens").toString();
    SplittableRandom rnd = new SplittableRandom(11);
    List<String> qkv = List.of("q", "k", "v");
    List<Row> first = rows(rnd, List.of(DocSpec.contiguous("d", 0, 0, 300, 8)), qkv, VectorEncoding.ARRAY);
    List<Row> again = rows(rnd, List.of(new DocSpec("d", 0, new long[] {7}, 8)), qkv, VectorEncoding.ARRAY);
    spark.createDataFrame(first, TokenTable.schema(VectorEncoding.ARRAY, qkv)).coalesce(1).write().parquet(input);
    spark.createDataFrame(again, TokenTable.schema(VectorEncoding.ARRAY, qkv)).coalesce(1).write().mode("append")
        .parquet(input);
    Outcome o = cli("score", "--input", input, "--output", dir.resolve("out").toString(), "--causal");
    assertEquals(2, o.code(), o.err());
    assertTrue(o.err().contains("duplicate position 7") && o.err().contains("doc 'd' head 0"), o.err());
    assertFalse(Files.exists(dir.resolve("out")), "nothing written");
  }
}
