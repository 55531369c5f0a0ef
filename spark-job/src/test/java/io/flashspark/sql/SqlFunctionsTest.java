package io.flashspark.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * flash_attention and attention_merge through SQL, in a session started with
 * spark.sql.extensions=io.flashspark.sql.FlashSparkExtensions: against a float64 computation here,
 * merges of chunk partials against attention over all keys, order independence, clear errors.
 */
class SqlFunctionsTest {
  private static SparkSession spark;
  private static final SplittableRandom RND = io.flashspark.attention.Seeds.fresh("SqlFunctionsTest");
  private static final ArrayType VECTOR = DataTypes.createArrayType(DataTypes.FloatType, false);
  private static final StructType INPUT = DataTypes.createStructType(List.of(
      DataTypes.createStructField("qid", DataTypes.IntegerType, false),
      DataTypes.createStructField("chunk", DataTypes.IntegerType, false),
      DataTypes.createStructField("q", VECTOR, false),
      DataTypes.createStructField("keys", DataTypes.createArrayType(VECTOR, false), false),
      DataTypes.createStructField("values", DataTypes.createArrayType(VECTOR, false), false)));

  @BeforeAll
  static void start() {
    spark = ExtensionSession.start("SqlFunctionsTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static float[] vector(int d) {
    float[] x = new float[d];
    for (int i = 0; i < d; i++) {
      x[i] = (float) (RND.nextDouble() * 4 - 2);
    }
    return x;
  }

  /** softmax(q·K^T·scale)·V and its lse in float64, written here independently. */
  private static double[] naive(float[] q, List<float[]> keys, List<float[]> values, double scale) {
    int d = q.length;
    double[] s = new double[keys.size()];
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < s.length; j++) {
      double dot = 0;
      for (int c = 0; c < d; c++) {
        dot += (double) q[c] * keys.get(j)[c];
      }
      s[j] = dot * scale;
      max = Math.max(max, s[j]);
    }
    double sum = 0;
    double[] out = new double[d + 1];
    for (int j = 0; j < s.length; j++) {
      double p = Math.exp(s[j] - max);
      sum += p;
      for (int c = 0; c < d; c++) {
        out[c] += p * values.get(j)[c];
      }
    }
    for (int c = 0; c < d; c++) {
      out[c] /= sum;
    }
    out[d] = max + Math.log(sum);
    return out;
  }

  /** {@code queries} query vectors, each with {@code keys} keys cut into {@code chunks} chunks (rows). */
  private static Dataset<Row> problems(int queries, int keys, int chunks, int d, List<double[]> expected) {
    List<Row> rows = new ArrayList<>();
    for (int qi = 0; qi < queries; qi++) {
      float[] q = vector(d);
      List<float[]> k = new ArrayList<>();
      List<float[]> v = new ArrayList<>();
      for (int j = 0; j < keys; j++) {
        k.add(vector(d));
        v.add(vector(d));
      }
      expected.add(naive(q, k, v, 1 / Math.sqrt(d)));
      int per = (keys + chunks - 1) / chunks;
      for (int c = 0; c < chunks; c++) {
        int from = Math.min(keys, c * per);
        int to = Math.min(keys, from + per);
        if (from < to) {
          rows.add(RowFactory.create(qi, c, q, k.subList(from, to).toArray(new float[0][]),
              v.subList(from, to).toArray(new float[0][])));
        }
      }
    }
    return spark.createDataFrame(rows, INPUT);
  }

  private static float[] floats(Row r, int i) {
    List<Object> l = r.getList(i);
    float[] out = new float[l.size()];
    for (int c = 0; c < out.length; c++) {
      out[c] = (Float) l.get(c);
    }
    return out;
  }

  @Test
  void flashAttentionMatchesFloat64AndTakesAScale() {
    List<double[]> expected = new ArrayList<>();
    problems(6, 37, 1, 16, expected).createOrReplaceTempView("whole");
    List<Row> out = spark.sql("SELECT qid, r.o, r.lse FROM (SELECT qid, flash_attention(q, keys, values) AS r FROM whole)"
        + " ORDER BY qid").collectAsList();
    assertEquals(6, out.size());
    for (Row r : out) {
      double[] e = expected.get(r.getInt(0));
      float[] o = floats(r, 1);
      for (int c = 0; c < 16; c++) {
        assertEquals(e[c], o[c], 1e-6 * Math.max(1, Math.abs(e[c])), "o[" + c + "]");
      }
      assertEquals(e[16], r.getDouble(2), 1e-9);
    }
    // an explicit scale equal to the default gives the same; another scale differs
    Row same = spark.sql("SELECT flash_attention(q, keys, values, 0.25D) AS r FROM whole WHERE qid = 0").first();
    assertEquals(expected.get(0)[16], same.getStruct(0).getDouble(1), 1e-9);
    Row other = spark.sql("SELECT flash_attention(q, keys, values, 1.0D) AS r FROM whole WHERE qid = 0").first();
    assertTrue(Math.abs(other.getStruct(0).getDouble(1) - expected.get(0)[16]) > 1e-3);
  }

  @Test
  void mergingChunkPartialsGivesAttentionOverAllKeysInAnyOrder() {
    List<double[]> expected = new ArrayList<>();
    problems(5, 100, 7, 8, expected).createOrReplaceTempView("chunks");
    String partials = "SELECT qid, flash_attention(q, keys, values) AS r FROM chunks"
        // an empty partial (no keys seen) per query: weighs nothing
        + " UNION ALL SELECT DISTINCT qid, named_struct('o', array_repeat(CAST(0 AS FLOAT), 8), 'lse',"
        + " CAST('-Infinity' AS DOUBLE)) FROM chunks";
    spark.sql(partials).createOrReplaceTempView("partials");
    List<Row> merged = spark.sql("SELECT qid, m.o, m.lse FROM (SELECT qid, attention_merge(r.o, r.lse) AS m"
        + " FROM partials GROUP BY qid) ORDER BY qid").collectAsList();
    List<Row> shuffled = spark.sql("SELECT qid, m.o, m.lse FROM (SELECT qid, attention_merge(r.o, r.lse) AS m"
        + " FROM (SELECT * FROM partials DISTRIBUTE BY rand(7) SORT BY rand(9)) GROUP BY qid) ORDER BY qid")
        .collectAsList();
    assertEquals(5, merged.size());
    for (int i = 0; i < 5; i++) {
      double[] e = expected.get(i);
      float[] o = floats(merged.get(i), 1);
      float[] o2 = floats(shuffled.get(i), 1);
      for (int c = 0; c < 8; c++) {
        assertEquals(e[c], o[c], 1e-5 * Math.max(1, Math.abs(e[c])), "query " + i + " o[" + c + "]");
        assertEquals(o[c], o2[c], 1e-6 * Math.max(1, Math.abs(o[c])), "order-independent");
      }
      assertEquals(e[8], merged.get(i).getDouble(2), 1e-9);
      assertEquals(merged.get(i).getDouble(2), shuffled.get(i).getDouble(2), 1e-12);
    }
    // only empty partials: lse -Infinity, o zeros
    Row empty = spark.sql("SELECT attention_merge(o, lse) AS m FROM VALUES (array(CAST(0 AS FLOAT), CAST(0 AS FLOAT)),"
        + " CAST('-Infinity' AS DOUBLE)) AS t(o, lse)").first().getStruct(0);
    assertEquals(Double.NEGATIVE_INFINITY, empty.getDouble(1));
    assertEquals(2, empty.getList(0).size());
    // no partial but NULL ones: lse -Infinity, o empty (docs/sql.md)
    Row none = spark.sql("SELECT attention_merge(o, lse) AS m FROM VALUES (CAST(NULL AS ARRAY<FLOAT>), 0D)"
        + " AS t(o, lse)").first().getStruct(0);
    assertEquals(Double.NEGATIVE_INFINITY, none.getDouble(1));
    assertEquals(0, none.getList(0).size());
  }

  private static String failure(String sql) {
    Exception e = assertThrows(Exception.class, () -> spark.sql(sql).collectAsList());
    StringBuilder all = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      all.append(t.getMessage()).append('\n');
    }
    return all.toString();
  }

  @Test
  void badArgumentsNameTheFunctionAndTheArgument() {
    String m = failure("SELECT flash_attention(array(1F, 2F), array(array(1F, 2F), array(1F)), array(array(1F, 2F),"
        + " array(3F, 4F)))");
    assertTrue(m.contains("flash_attention: argument 2 (keys) vector 1 has 1 values but q has 2"), m);
    m = failure("SELECT flash_attention(array(1F, CAST('NaN' AS FLOAT)), array(array(1F, 2F)), array(array(1F, 2F)))");
    assertTrue(m.contains("flash_attention: argument 1 (q) has NaN at index 1"), m);
    m = failure("SELECT flash_attention(array(1F), CAST(array() AS ARRAY<ARRAY<FLOAT>>), CAST(array() AS"
        + " ARRAY<ARRAY<FLOAT>>))");
    assertTrue(m.contains("flash_attention: argument 2 (keys) is empty"), m);
    m = failure("SELECT flash_attention(array(1F), array(array(1F)), array(array(1F), array(2F)))");
    assertTrue(m.contains("flash_attention: argument 3 (values) has 2 vectors but keys has 1"), m);
    m = failure("SELECT flash_attention(array(1F))");
    assertTrue(m.contains("flash_attention takes 3 or 4 arguments, got 1"), m);
    m = failure("SELECT attention_merge(o, lse) FROM VALUES (array(1F), CAST('NaN' AS DOUBLE)) AS t(o, lse)");
    assertTrue(m.contains("attention_merge: argument 2 (lse) is NaN"), m);
    m = failure("SELECT attention_merge(o, lse) FROM VALUES (array(1F), 0D), (array(1F, 2F), 0D) AS t(o, lse)");
    assertTrue(m.contains("attention_merge: argument 1 (o) has 2 values but other partials of the group have 1")
        || m.contains("attention_merge: argument 1 (o) has 1 values but other partials of the group have 2"), m);
  }

  @Test
  void aRunningSessionCanRegisterThemToo() {
    FlashSparkExtensions.register(spark);
    Row r = spark.sql("SELECT flash_attention(array(1F, 0F), array(array(1F, 0F), array(0F, 1F)),"
        + " array(array(2F, 0F), array(0F, 2F)), NULL) AS r").first().getStruct(0);
    double w = Math.exp(1 / Math.sqrt(2));
    assertEquals(2 * w / (w + 1), (Float) r.getList(0).get(0), 1e-6);
    assertEquals(Math.log(w + 1), r.getDouble(1), 1e-9);
  }
}
