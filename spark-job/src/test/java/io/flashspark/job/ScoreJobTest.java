package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.AttentionSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The job in local mode on small documents, every output row compared with the float64
 * reference. fp32 CPU backend: |o - ref| and |lse - ref| <= 1e-5 for these inputs
 * (|logit| < 16, see docs/numerics.md).
 */
class ScoreJobTest extends SparkTestBase {
  private static final double TOLERANCE = 1e-5;
  private static final List<String> QKV = List.of("q", "k", "v");

  @TempDir Path dir;

  private final SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("ScoreJobTest");

  private static List<DocSpec> documents() {
    // awkward lengths, a document starting late, one of a single token, two heads of one doc
    return List.of(DocSpec.contiguous("alpha", 0, 0, 300, 16), DocSpec.contiguous("alpha", 1, 0, 300, 16),
        DocSpec.contiguous("beta", 0, 1000, 97, 16), DocSpec.contiguous("gamma", 3, 5, 1, 16));
  }

  private void assertMatchesReference(String keys, String queries, String output, AttentionSpec spec,
      VectorEncoding packedAs, long expectedRows) {
    Dataset<Row> kv = spark.read().parquet(keys);
    Dataset<Row> q = spark.read().parquet(queries);
    Dataset<Row> out = spark.read().parquet(output);
    assertEquals(expectedRows, out.count(), "output rows");
    assertEquals(expectedRows, out.select("doc_id", "head", "pos").distinct().count(), "one row per query token");
    ReferenceCheck.Errors e = ReferenceCheck.compare(kv, q, out, spec, packedAs, null, Integer.MAX_VALUE);
    assertEquals(0, e.missingRows(), "rows missing or unexpected");
    assertEquals(expectedRows, e.rowsChecked());
    assertTrue(e.maxOError() <= TOLERANCE, "max |o - ref| = " + e.maxOError());
    assertTrue(e.maxLseError() <= TOLERANCE, "max |lse - ref| = " + e.maxLseError());
  }

  @ParameterizedTest(name = "causal={0} T={1} merge={2} cells={3}")
  @CsvSource({
      "false, 64, DISTRIBUTED, 0", "true, 64, DISTRIBUTED, 0", "true, 50, DRIVER, 1", "false, 37, DRIVER, 40",
      "true, 37, DISTRIBUTED, 200", "true, 1000, DISTRIBUTED, 3", "false, 1, DISTRIBUTED, 8"})
  void selfAttentionMatchesReference(boolean causal, int blockSize, ScoreOptions.MergeMode merge, int cells) {
    List<DocSpec> docs = documents();
    String input = write(dir, "in", rows(rnd, docs, QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 3);
    String output = dir.resolve("out").toString();
    new ScoreJob(spark, options(input, output, null, causal, blockSize, merge, cells), Progress.quiet()).run();
    assertMatchesReference(input, input, output, AttentionSpec.defaults().withCausal(causal), VectorEncoding.ARRAY,
        698);
  }

  /**
   * Every stage of a routed job carries a description, which progress, the web UI and the event log
   * show, with and without merged query blocks (cells 200: KV shards). Adaptive execution used to run
   * the routing shuffle's map stage, or the cells feeding a merge, as the output was built, under
   * Spark's call-site name ("$anonfun$withThreadLocalCaptured$2"); they now run in the write's job.
   */
  @ParameterizedTest(name = "cells={0}")
  @CsvSource({"0", "200"})
  void everyStageOfARoutedJobIsDescribed(int cells) throws Exception {
    String input = write(dir, "in", rows(rnd, documents(), QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 3);
    List<String> undescribed = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    List<String> described = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    org.apache.spark.scheduler.SparkListener listener = new org.apache.spark.scheduler.SparkListener() {
      @Override public void onStageSubmitted(org.apache.spark.scheduler.SparkListenerStageSubmitted e) {
        String d = e.properties() == null ? null : e.properties().getProperty("spark.job.description");
        (d == null ? undescribed : described).add(d == null ? e.stageInfo().name() : d);
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      ScoreJob.Result r = new ScoreJob(spark, options(input, dir.resolve("out").toString(), null, true, 37,
          ScoreOptions.MergeMode.DISTRIBUTED, cells), Progress.quiet()).run();
      assertTrue(r.timings().routeBytes() > 0, "routed: " + r.timings());
      assertEquals(cells > 0, r.timings().mergeBytes() > 0, "partials merged: " + r.timings());
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
    assertEquals(List.of(), undescribed, "stages without a description (described: " + described + ")");
    assertTrue(described.contains("reading, packing and routing blocks to cells, computing attention, writing the output"),
        described.toString());
  }

  /**
   * Final partials spread over write tasks of their own (as when a few GPU cells would otherwise
   * write on few cores), with and without query blocks to merge: the same rows, each once.
   */
  @ParameterizedTest(name = "cells={0}")
  @CsvSource({"1", "200"})
  void outputSpreadOverWriteTasks(int cells) {
    String input = write(dir, "in", rows(rnd, documents(), QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 3);
    String output = dir.resolve("out").toString();
    ScoreOptions o = options(input, output, null, true, 37, ScoreOptions.MergeMode.DISTRIBUTED, cells);
    ScoreOptions spread = new ScoreOptions(o.input(), o.output(), o.queries(), o.causal(), o.blockSize(), o.merge(),
        o.backend(), o.precision(), o.scale(), o.packedAs(), o.targetCells(), o.maxKvShardBytes(), o.maxTaskBytes(),
        o.overwrite(), o.outputFormat(), 5);
    ScoreJob.Result r = new ScoreJob(spark, spread, Progress.quiet()).run();
    assertTrue(r.timings().mergeBytes() > 0, "final partials shuffled to the write tasks");
    if (cells == 1) { // one cell per (doc, head), nothing to merge: the write tasks' stage is reported as writing
      assertTrue(r.timings().writeMillis() > 0, r.timings().toString());
    }
    assertMatchesReference(input, input, output, AttentionSpec.defaults().withCausal(true), VectorEncoding.ARRAY, 698);
  }

  @Test
  void bothMergesGiveTheSameNumbers() {
    String input = write(dir, "in", rows(rnd, documents(), QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 2);
    String a = dir.resolve("a").toString();
    String b = dir.resolve("b").toString();
    new ScoreJob(spark, options(input, a, null, true, 40, ScoreOptions.MergeMode.DRIVER, 30), Progress.quiet()).run();
    new ScoreJob(spark, options(input, b, null, true, 40, ScoreOptions.MergeMode.DISTRIBUTED, 30), Progress.quiet())
        .run();
    List<Row> diff = spark.read().parquet(a).as("a").join(spark.read().parquet(b).as("b"),
            scala.jdk.javaapi.CollectionConverters.asScala(List.of("doc_id", "head", "pos")).toSeq())
        .selectExpr("abs(a.lse - b.lse) as dl",
            "aggregate(zip_with(a.o, b.o, (x, y) -> abs(x - y)), 0d, (acc, x) -> greatest(acc, x)) as do")
        .selectExpr("max(dl)", "max(do)", "count(*)").collectAsList();
    assertEquals(698L, diff.get(0).getLong(2));
    assertTrue(diff.get(0).getDouble(0) <= 1e-5 && diff.get(0).getDouble(1) <= 1e-5, "merges differ: " + diff);
  }

  @Test
  void zigzagQShardsUnderCausalMasking() {
    String input = write(dir, "in", rows(rnd, documents(), QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 2);
    String output = dir.resolve("out").toString();
    ScoreJob.Result r = new ScoreJob(spark, options(input, output, null, true, 10, ScoreOptions.MergeMode.DISTRIBUTED,
        12), Progress.quiet()).run();
    assertTrue(!r.plan().description().contains("zigzag Q shards in 0 "), r.plan().description());
    assertMatchesReference(input, input, output, AttentionSpec.defaults().withCausal(true), VectorEncoding.ARRAY, 698);
  }

  @Test
  void sparsePositionsAndCausalMasking() {
    long[] pos = {0, 3, 4, 10, 11, 12, 40, 41, 99, 100, 101, 250};
    List<DocSpec> docs = List.of(new DocSpec("sparse", 0, pos, 8));
    String input = write(dir, "in", rows(rnd, docs, QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 2);
    String output = dir.resolve("out").toString();
    new ScoreJob(spark, options(input, output, null, true, 10, ScoreOptions.MergeMode.DISTRIBUTED, 6),
        Progress.quiet()).run();
    assertMatchesReference(input, input, output, AttentionSpec.defaults().withCausal(true), VectorEncoding.ARRAY,
        pos.length);
  }

  @ParameterizedTest(name = "causal={0}")
  @CsvSource({"false", "true"})
  void crossAttentionWithSeparateQueries(boolean causal) {
    List<DocSpec> keyDocs = List.of(DocSpec.contiguous("alpha", 0, 100, 250, 16), DocSpec.contiguous("beta", 2, 0, 60, 16));
    // queries: before, inside and after alpha's keys; a doc with no keys at all (empty rows)
    List<DocSpec> queryDocs = List.of(DocSpec.contiguous("alpha", 0, 0, 400, 16),
        DocSpec.contiguous("beta", 2, 30, 5, 16), DocSpec.contiguous("nokeys", 0, 0, 7, 16));
    String keys = write(dir, "kv", rows(rnd, keyDocs, List.of("k", "v"), VectorEncoding.ARRAY), List.of("k", "v"),
        VectorEncoding.ARRAY, 2);
    String queries = write(dir, "q", rows(rnd, queryDocs, List.of("q"), VectorEncoding.ARRAY), List.of("q"),
        VectorEncoding.ARRAY, 2);
    String output = dir.resolve("out").toString();
    new ScoreJob(spark, options(keys, output, queries, causal, 64, ScoreOptions.MergeMode.DISTRIBUTED, 9),
        Progress.quiet()).run();
    assertMatchesReference(keys, queries, output, AttentionSpec.defaults().withCausal(causal), VectorEncoding.ARRAY,
        412);
    long empty = spark.read().parquet(output).where("lse = double('-Infinity')").count();
    assertTrue(empty >= 7, "rows without keys are written with lse = -inf: " + empty);
  }

  @ParameterizedTest(name = "packed {0}")
  @CsvSource({"FP32", "FP16", "BF16"})
  void packedInput(VectorEncoding encoding) {
    String input = write(dir, "in", rows(rnd, documents(), QKV, encoding), QKV, encoding, 2);
    String output = dir.resolve("out").toString();
    ScoreOptions base = options(input, output, null, true, 64, ScoreOptions.MergeMode.DISTRIBUTED, 0);
    ScoreOptions packed = new ScoreOptions(base.input(), base.output(), null, true, 64, base.merge(), "cpu", null,
        0.2, encoding, 0, base.maxKvShardBytes(), 0, false, null, 0);
    new ScoreJob(spark, packed, Progress.quiet()).run();
    assertMatchesReference(input, input, output, new AttentionSpec(0.2, true, null).withPrecision(
        io.flashspark.attention.Precision.FP32), encoding, 698);
  }
}
