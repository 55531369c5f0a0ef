package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.AttentionSpec;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The DataFrame API: token Datasets in, the output Dataset back, lazily, without files. */
class FlashAttentionTest extends SparkTestBase {
  private static final List<String> QKV = List.of("q", "k", "v");
  private static final double TOLERANCE = 1e-5;
  private final SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("FlashAttentionTest");

  private static Dataset<Row> table(List<Row> rows, List<String> columns, VectorEncoding encoding) {
    return spark.createDataFrame(rows, TokenTable.schema(encoding, columns));
  }

  private static void assertMatchesReference(Dataset<Row> keys, Dataset<Row> queries, Dataset<Row> out,
      AttentionSpec spec, VectorEncoding packedAs, long rows) {
    ReferenceCheck.Errors e = ReferenceCheck.compare(keys, queries, out, spec, packedAs, null, Integer.MAX_VALUE);
    assertEquals(0, e.missingRows(), "rows missing or unexpected");
    assertEquals(rows, e.rowsChecked());
    assertTrue(e.maxOError() <= TOLERANCE, "max |o - ref| = " + e.maxOError());
    assertTrue(e.maxLseError() <= TOLERANCE, "max |lse - ref| = " + e.maxLseError());
  }

  /**
   * Lazy for every plan: routed cells whose partials go straight out (5 cells), and cells whose
   * partials are merged (200 cells: KV shards), where adaptive execution used to run the cells as the
   * output was built.
   */
  @ParameterizedTest(name = "cells={0}")
  @ValueSource(ints = {5, 200})
  void selfAttentionOfADatasetIsLazyAndExact(int cells) {
    List<DocSpec> docs = List.of(DocSpec.contiguous("a", 0, 0, 300, 16), DocSpec.contiguous("a", 1, 0, 300, 16),
        DocSpec.contiguous("b", 0, 1000, 97, 16));
    Dataset<Row> tokens = table(rows(rnd, docs, QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY);
    try (ScoreJob.Prepared r = FlashAttention.of(tokens).causal(true).backend("cpu").blockSize(64).cells(cells).run()) {
      assertEquals(697, r.queryRows());
      assertEquals(cells > 5, r.traffic().mergedBlocks() > 0, "query blocks merged: " + r.traffic());
      assertEquals(0L, r.accumulators().pairsDone.value(), "planning computes no attention");
      Dataset<Row> out = r.output();
      assertEquals(List.of("doc_id", "head", "pos", "o", "lse"), List.of(out.columns()));
      assertEquals(0L, r.accumulators().pairsDone.value(), "the output is computed only when asked for");
      assertMatchesReference(tokens, tokens, out, AttentionSpec.defaults().withCausal(true), VectorEncoding.ARRAY, 697);
      assertTrue(r.accumulators().pairsDone.value() > 0);
    }
  }

  @Test
  void crossAttentionThroughASecondDatasetWithPackedVectors() {
    List<DocSpec> keyDocs = List.of(DocSpec.contiguous("d", 0, 0, 200, 8), DocSpec.contiguous("e", 2, 0, 50, 8));
    List<DocSpec> queryDocs = List.of(DocSpec.contiguous("d", 0, 100, 150, 8), DocSpec.contiguous("e", 2, 10, 5, 8));
    List<String> kv = List.of("k", "v");
    Dataset<Row> keys = table(rows(rnd, keyDocs, kv, VectorEncoding.BF16), kv, VectorEncoding.BF16);
    Dataset<Row> queries = table(rows(rnd, queryDocs, List.of("q"), VectorEncoding.BF16), List.of("q"),
        VectorEncoding.BF16);
    try (ScoreJob.Prepared r = FlashAttention.of(keys).queries(queries).causal(true).backend("cpu").blockSize(32)
        .packed("bf16").outputFormat("bf16").run()) {
      Dataset<Row> out = r.output();
      assertEquals(155, out.count());
      // bf16 output: values within bf16 rounding of the reference
      ReferenceCheck.Errors e = ReferenceCheck.compare(keys, queries, out, AttentionSpec.defaults().withCausal(true),
          VectorEncoding.BF16, null, Integer.MAX_VALUE);
      assertEquals(0, e.missingRows());
      assertTrue(e.maxOError() <= 2e-2, "max |o - ref| = " + e.maxOError());
    }
  }

  @Test
  void badRowsAndBadOptionsAreClearErrors() {
    List<Row> rows = new java.util.ArrayList<>(rows(rnd, List.of(DocSpec.contiguous("a", 0, 0, 20, 4)), QKV,
        VectorEncoding.ARRAY));
    rows.add(RowFactory.create("a", 0, 20L, new float[] {1, Float.NaN, 0, 0}, new float[4], new float[4]));
    Dataset<Row> tokens = table(rows, QKV, VectorEncoding.ARRAY);
    InputException bad = assertThrows(InputException.class, () -> FlashAttention.of(tokens).backend("cpu").run());
    assertTrue(bad.getMessage().contains("doc 'a' head 0") || bad.getMessage().contains("'a'"), bad.getMessage());
    assertTrue(bad.getMessage().contains("NaN"), bad.getMessage());
    InputException option = assertThrows(InputException.class, () -> FlashAttention.of(tokens).backend("tpu"));
    assertTrue(option.getMessage().contains("backend: expected one of auto, cpu, gpu"), option.getMessage());
    assertThrows(InputException.class, () -> FlashAttention.of(tokens).cells(0));
  }
}
