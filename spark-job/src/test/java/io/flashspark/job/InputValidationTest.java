package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input: a clear message naming document, head and column, exit code 2, no output. */
class InputValidationTest extends SparkTestBase {
  private static final List<String> QKV = List.of("q", "k", "v");
  @TempDir Path dir;

  private Outcome score(String input, String... extra) {
    List<String> args = new ArrayList<>(List.of("score", "--input", input, "--output", dir.resolve("out").toString(),
        "--backend", "cpu", "--block-size", "4"));
    args.addAll(List.of(extra));
    return cli(args.toArray(new String[0]));
  }

  private void assertRejected(String input, String... expectedFragments) {
    Outcome o = score(input);
    assertEquals(2, o.code(), o.err());
    for (String f : expectedFragments) {
      assertTrue(o.err().contains(f), "message should contain '" + f + "': " + o.err());
    }
    assertFalse(Files.exists(dir.resolve("out")), "no output may be written");
  }

  private List<Row> goodRows(int tokens, int dim) {
    return rows(new SplittableRandom(3), List.of(DocSpec.contiguous("doc1", 2, 0, tokens, dim)), QKV,
        VectorEncoding.ARRAY);
  }

  private static Row row(String doc, int head, long pos, float[] q, float[] k, float[] v) {
    return RowFactory.create(doc, head, pos, q, k, v);
  }

  @Test
  void rowsOfOneDocHeadWithDifferentDimensions() {
    List<Row> rows = new ArrayList<>(goodRows(20, 8));
    rows.add(row("doc1", 2, 100, new float[4], new float[4], new float[4]));
    assertRejected(write(dir, "in", rows, QKV, VectorEncoding.ARRAY, 1), "doc 'doc1' head 2", "dimension");
  }

  @Test
  void qkvOfDifferentDimensions() {
    List<Row> rows = new ArrayList<>(goodRows(20, 8));
    rows.add(row("doc1", 2, 21, new float[8], new float[7], new float[8]));
    assertRejected(write(dir, "in", rows, QKV, VectorEncoding.ARRAY, 1), "doc 'doc1' head 2", "column 'k'",
        "pos 21");
  }

  @Test
  void nanAndInfinity() {
    List<Row> rows = new ArrayList<>(goodRows(20, 8));
    float[] bad = new float[8];
    bad[3] = Float.NaN;
    rows.add(row("doc1", 2, 30, new float[8], new float[8], bad));
    float[] inf = new float[8];
    inf[0] = Float.POSITIVE_INFINITY;
    rows.add(row("doc2", 0, 5, inf, new float[8], new float[8]));
    assertRejected(write(dir, "in", rows, QKV, VectorEncoding.ARRAY, 1), "doc 'doc1' head 2", "column 'v'", "NaN",
        "doc 'doc2' head 0", "column 'q'", "Infinity");
  }

  /** A bad value in a packed table whose cells read it themselves (no routing shuffle): the same exit 2, nothing written. */
  @Test
  void aNonFiniteValueFoundByCellsThatReadTheirInput() {
    List<Row> rows = new ArrayList<>(rows(new SplittableRandom(3), List.of(DocSpec.contiguous("doc1", 2, 0, 20, 8)), QKV,
        VectorEncoding.BF16));
    float[] bad = new float[8];
    bad[3] = Float.NaN;
    byte[] zeros = VectorEncoding.BF16.encode(new float[8]);
    rows.add(RowFactory.create("doc1", 2, 30L, zeros, zeros, VectorEncoding.BF16.encode(bad)));
    Outcome o = score(write(dir, "in", rows, QKV, VectorEncoding.BF16, 1));
    assertTrue(o.err().contains("input partitions themselves"), "cells read their input: " + o.err());
    assertRejected(dir.resolve("in").toString(), "doc 'doc1' head 2", "column 'v'", "non-finite", "pos 30");
  }

  @Test
  void badQueriesOfCrossAttentionNameTheirTable() {
    String keys = write(dir, "keys", goodRows(20, 8), QKV, VectorEncoding.ARRAY, 2);
    List<Row> queries = new ArrayList<>();
    for (Row r : goodRows(12, 8)) {
      queries.add(RowFactory.create(r.get(0), r.get(1), r.get(2), r.get(3)));
    }
    float[] nan = new float[8];
    nan[5] = Float.NaN;
    queries.add(RowFactory.create("doc1", 2, 40L, nan));
    String q = write(dir, "queries", queries, List.of("q"), VectorEncoding.ARRAY, 1);
    Outcome o = score(keys, "--queries", q);
    assertEquals(2, o.code(), o.err());
    for (String f : List.of("table '" + q + "' has invalid rows", "doc 'doc1' head 2", "column 'q'", "NaN", "pos 40")) {
      assertTrue(o.err().contains(f), "message should contain '" + f + "': " + o.err());
    }
    assertFalse(Files.exists(dir.resolve("out")), "no output may be written");
  }

  @Test
  void duplicatePositions() {
    List<Row> rows = new ArrayList<>(goodRows(20, 8));
    rows.add(row("doc1", 2, 7, new float[8], new float[8], new float[8]));
    assertRejected(write(dir, "in", rows, QKV, VectorEncoding.ARRAY, 1), "doc 'doc1' head 2", "duplicate position 7");
  }

  @Test
  void missingColumns() {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("doc_id", DataTypes.StringType, false),
        DataTypes.createStructField("pos", DataTypes.LongType, false),
        DataTypes.createStructField("q", DataTypes.createArrayType(DataTypes.FloatType), false)));
    String path = dir.resolve("in").toString();
    spark.createDataFrame(List.of(RowFactory.create("d", 1L, new float[] {1f})), schema).write().parquet(path);
    assertRejected(path, "missing column(s) head, k, v");
  }

  @Test
  void emptyInput() {
    assertRejected(write(dir, "in", List.of(), QKV, VectorEncoding.ARRAY, 1), "has no rows");
  }

  @Test
  void missingInputAndBadArguments() {
    assertRejected(dir.resolve("nothing-here").toString(), "does not exist");
    String input = write(dir, "in", goodRows(10, 8), QKV, VectorEncoding.ARRAY, 1);
    assertEquals(2, score(input, "--merge", "sideways").code());
    assertEquals(2, score(input, "--block-size", "0").code());
    assertEquals(2, score(input, "--frobnicate").code());
    // fp32 recorded in the table, fp16 declared: refused before reading any row
    Outcome packedContradicted = score(write(dir, "packed", goodRowsPacked(), QKV, VectorEncoding.FP32, 1), "--packed",
        "fp16");
    assertEquals(2, packedContradicted.code(), packedContradicted.err());
    assertTrue(packedContradicted.err().contains("recorded in the table"), packedContradicted.err());
    // as recorded (fp32), the 10-byte k of pos 9 is not a whole number of values
    Outcome oddLength = score(dir.resolve("packed").toString());
    assertEquals(2, oddLength.code(), oddLength.err());
    assertTrue(oddLength.err().contains("not a whole number"), oddLength.err());
  }

  private List<Row> goodRowsPacked() {
    // 3 fp32 values = 12 bytes: read as fp16 that is 6 values per vector, consistent; make one odd
    List<Row> rows = new ArrayList<>(rows(new SplittableRandom(1), List.of(DocSpec.contiguous("p", 0, 0, 5, 3)), QKV,
        VectorEncoding.FP32));
    rows.add(RowFactory.create("p", 0, 9L, new byte[12], new byte[10], new byte[12]));
    return rows;
  }

  @Test
  void cliRunsGenerateAndScore() {
    String tokens = dir.resolve("tokens").toString();
    String out = dir.resolve("attn").toString();
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(stdout, true, StandardCharsets.UTF_8);
    assertEquals(0, FlashSpark.run(new String[] {"generate", "--output", tokens, "--docs", "2", "--tokens", "100",
        "--heads", "2", "--dim", "8", "--packed", "bf16"}, ps, ps));
    assertEquals(0, FlashSpark.run(new String[] {"score", "--input", tokens, "--output", out, "--causal",
        "--packed", "bf16", "--block-size", "32", "--backend", "cpu", "--merge", "driver"}, ps, ps), stdout.toString());
    assertEquals(400, spark.read().parquet(out).count());
    assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("scored 400 query rows"), stdout.toString());
    // the output against the float64 reference: passes with the job's settings, fails with another scale
    String[] check = {"check", "--input", tokens, "--output", out, "--causal", "--packed", "bf16", "--doc-heads",
        "4", "--rows", "100"};
    assertEquals(0, FlashSpark.run(check, ps, ps), stdout.toString());
    assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("on 400 rows"), stdout.toString());
    String[] wrongScale = java.util.Arrays.copyOf(check, check.length + 2);
    wrongScale[check.length] = "--scale";
    wrongScale[check.length + 1] = "0.5";
    assertEquals(1, FlashSpark.run(wrongScale, ps, ps));
    assertTrue(stdout.toString(StandardCharsets.UTF_8).contains("MISMATCH"), stdout.toString());
    // the output exists: a second run refuses to overwrite it unless asked
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(2, FlashSpark.run(new String[] {"score", "--input", tokens, "--output", out, "--packed", "bf16",
        "--backend", "cpu"}, ps, new PrintStream(err, true, StandardCharsets.UTF_8)));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--overwrite"), err.toString());
  }
}
