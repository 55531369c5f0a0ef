package io.flashspark.job;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** One local Spark session per test class, and helpers to write small token tables. */
abstract class SparkTestBase {
  static SparkSession spark;

  @BeforeAll
  static void startSpark() {
    spark = SparkSession.builder().master("local[2]").appName("flashspark-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate();
  }

  @AfterAll
  static void stopSpark() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
  }

  /**
   * Two score outputs hold the same rows, {@code rows} of them, equal within fp32 rounding (the CPU
   * kernel's SIMD reductions may sum in another order once the JIT has compiled them).
   */
  static void assertSameOutput(String a, String b, long rows) {
    List<Row> diff = spark.read().parquet(a).as("a").join(spark.read().parquet(b).as("b"),
            org.apache.spark.sql.functions.expr("a.doc_id = b.doc_id and a.head = b.head and a.pos = b.pos"))
        .selectExpr("a.o as x", "b.o as y", "a.lse - b.lse as dl").collectAsList();
    org.junit.jupiter.api.Assertions.assertEquals(rows, diff.size());
    for (Row r : diff) {
      List<Float> x = r.getList(0);
      List<Float> y = r.getList(1);
      for (int c = 0; c < x.size(); c++) {
        org.junit.jupiter.api.Assertions.assertEquals(x.get(c), y.get(c), 1e-5 * Math.max(1, Math.abs(x.get(c))));
      }
      org.junit.jupiter.api.Assertions.assertEquals(0, r.getDouble(2), 1e-5);
    }
  }

  /** What a CLI command printed and returned. */
  record Outcome(int code, String out, String err) {}

  /** Runs the CLI in this JVM (sharing the test's Spark session). */
  static Outcome cli(String... args) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int code = FlashSpark.run(args, new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
        new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    return new Outcome(code, out.toString(java.nio.charset.StandardCharsets.UTF_8),
        err.toString(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** A document for tests: doc id, head, positions and dimension. */
  record DocSpec(String doc, int head, long[] positions, int dim) {
    static DocSpec contiguous(String doc, int head, long first, int tokens, int dim) {
      long[] pos = new long[tokens];
      for (int i = 0; i < tokens; i++) {
        pos[i] = first + i;
      }
      return new DocSpec(doc, head, pos, dim);
    }
  }

  /** Rows with random vectors for the given columns, in shuffled order. */
  static List<Row> rows(SplittableRandom rnd, List<DocSpec> docs, List<String> columns, VectorEncoding encoding) {
    List<Row> rows = new ArrayList<>();
    for (DocSpec d : docs) {
      for (long p : d.positions()) {
        List<Object> values = new ArrayList<>(List.of(d.doc(), d.head(), p));
        for (int c = 0; c < columns.size(); c++) {
          float[] x = new float[d.dim()];
          for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 4 - 2);
          }
          values.add(encoding.packed() ? encoding.encode(x) : x);
        }
        rows.add(RowFactory.create(values.toArray()));
      }
    }
    Collections.shuffle(rows, new java.util.Random(rnd.nextLong()));
    return rows;
  }

  static String write(Path dir, String name, List<Row> rows, List<String> columns, VectorEncoding encoding, int files) {
    String path = dir.resolve(name).toString();
    Dataset<Row> df = spark.createDataFrame(rows, TokenTable.schema(encoding, columns)).repartition(files);
    df.write().parquet(path);
    return path;
  }

  static ScoreOptions options(String input, String output, String queries, boolean causal, int blockSize,
      ScoreOptions.MergeMode merge, int cells) {
    return new ScoreOptions(input, output, queries, causal, blockSize, merge, "cpu", null, Double.NaN,
        null, cells, ScoreOptions.DEFAULT_MAX_KV_SHARD_BYTES, 0, false, null, 0);
  }
}
