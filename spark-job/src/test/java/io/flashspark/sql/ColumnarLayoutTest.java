package io.flashspark.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.ListBatch;
import io.flashspark.attention.ListRows;
import io.flashspark.attention.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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
 * flash_attention's row path (the Spark UDF, through SQL) and its columnar path's layout (the Arrow /
 * cuDF list layout the RAPIDS Accelerator hands a columnar UDF, evaluated by the GPU kernel's CPU
 * stand-in {@link ListBatch}) agree on the same rows: results within one float rounding, the same
 * null rows, and for every check the same error message. The kernel itself is held to the stand-in on
 * a GPU (ListAttentionTest).
 */
class ColumnarLayoutTest {
  private static SparkSession spark;
  private static final ArrayType VECTOR = DataTypes.createArrayType(DataTypes.FloatType, true);
  private static final StructType INPUT = DataTypes.createStructType(List.of(
      DataTypes.createStructField("id", DataTypes.IntegerType, false),
      DataTypes.createStructField("q", VECTOR, true),
      DataTypes.createStructField("keys", DataTypes.createArrayType(VECTOR, true), true),
      DataTypes.createStructField("values", DataTypes.createArrayType(VECTOR, true), true),
      DataTypes.createStructField("scale", DataTypes.DoubleType, true)));

  @BeforeAll
  static void start() {
    spark = ExtensionSession.start("ColumnarLayoutTest");
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  private static void table(List<ListRows.Row> rows) {
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      ListRows.Row r = rows.get(i);
      out.add(RowFactory.create(i, r.q(), r.keys(), r.values(), r.scale()));
    }
    spark.createDataFrame(out, INPUT).createOrReplaceTempView("t");
  }

  private static final String QUERY = "SELECT id, flash_attention(q, keys, values, scale) AS r FROM t ORDER BY id";

  @Test
  void rowPathAndListLayoutGiveTheSameResults() {
    SplittableRandom rnd = Seeds.fresh("ColumnarLayoutTest");
    List<ListRows.Row> rows = ListRows.batch(rnd, 150, new int[] {1, 7, 64}, 40);
    table(rows);
    List<Row> got = spark.sql(QUERY).collectAsList();
    ListBatch batch = ListRows.layout(rows);
    ListBatch.Result want = batch.evaluate();
    int nulls = 0;
    for (int i = 0; i < rows.size(); i++) {
      Row r = got.get(i);
      assertEquals(i, r.getInt(0));
      assertEquals(want.isNull(i), r.isNullAt(1), "row " + i + " null in one path only");
      if (r.isNullAt(1)) {
        nulls++;
        continue;
      }
      List<Object> o = r.getStruct(1).getList(0);
      int qa = batch.qOffsets[i];
      assertEquals(batch.qOffsets[i + 1] - qa, o.size());
      for (int c = 0; c < o.size(); c++) {
        float rowPath = (Float) o.get(c);
        float columnar = want.o()[qa + c];
        assertTrue(Math.abs(rowPath - columnar) <= Math.ulp(rowPath) + 1e-30,
            "row " + i + " o[" + c + "]: row path " + rowPath + ", list layout " + columnar);
      }
      double lse = r.getStruct(1).getDouble(1);
      assertEquals(lse, want.lse()[i], 1e-12 * Math.max(1, Math.abs(lse)), "row " + i + " lse");
    }
    assertEquals(want.nullRows(), nulls);
    assertTrue(nulls > 0 && nulls < rows.size(), "the batch has both null and computed rows: " + nulls);
  }

  @Test
  void everyCheckFailsWithTheRowPathsMessage() {
    SplittableRandom rnd = Seeds.fresh("ColumnarLayoutTest problems");
    for (ListRows.Plant plant : ListRows.Plant.values()) {
      if (plant == ListRows.Plant.NONE) {
        continue;
      }
      List<ListRows.Row> rows = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        rows.add(ListRows.row(rnd, 6, 5));
      }
      rows.set(2, ListRows.plant(rows.get(2), plant, 4));
      table(rows);
      ListBatch.Problem p = ListRows.layout(rows).evaluate().problem();
      assertNotNull(p, plant.toString());
      String expected = AttentionFunctions.error(p).getMessage();
      Exception e = assertThrows(Exception.class, () -> spark.sql(QUERY).collectAsList(), plant.toString());
      StringBuilder all = new StringBuilder();
      for (Throwable t = e; t != null; t = t.getCause()) {
        all.append(t.getMessage()).append('\n');
      }
      assertTrue(all.toString().contains(expected), plant + ": the row path said\n" + all + "not: " + expected);
    }
  }
}
