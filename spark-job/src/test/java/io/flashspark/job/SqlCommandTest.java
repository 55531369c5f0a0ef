package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.ListBatch;
import io.flashspark.attention.ListRows;
import io.flashspark.attention.Seeds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flashspark sql}: a query with flash_attention over a Parquet table written to Parquet
 * (every row against the list layout's stand-in, the computation the GPU path does), printed rows,
 * and the user's mistakes as exit 2 with nothing written: a bad argument row, a bad query, a missing
 * table, an output that is the input.
 */
class SqlCommandTest extends SparkTestBase {
  private static final ArrayType VECTOR = DataTypes.createArrayType(DataTypes.FloatType, true);
  private static final StructType INPUT = DataTypes.createStructType(List.of(
      DataTypes.createStructField("id", DataTypes.IntegerType, false),
      DataTypes.createStructField("q", VECTOR, true),
      DataTypes.createStructField("keys", DataTypes.createArrayType(VECTOR, true), true),
      DataTypes.createStructField("values", DataTypes.createArrayType(VECTOR, true), true)));
  private static final String QUERY = "SELECT id, flash_attention(q, keys, values) AS r FROM t";

  @TempDir Path dir;

  private String table(List<ListRows.Row> rows, String name) {
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      out.add(RowFactory.create(i, rows.get(i).q(), rows.get(i).keys(), rows.get(i).values()));
    }
    String path = dir.resolve(name).toString();
    spark.createDataFrame(out, INPUT).write().parquet(path);
    return path;
  }

  private static List<ListRows.Row> defaultScale(List<ListRows.Row> rows) {
    List<ListRows.Row> out = new ArrayList<>();
    for (ListRows.Row r : rows) {
      out.add(new ListRows.Row(r.q(), r.keys(), r.values(), null));
    }
    return out;
  }

  @Test
  void writesEveryRowAsTheColumnarPathComputesIt() {
    SplittableRandom rnd = Seeds.fresh("SqlCommandTest");
    List<ListRows.Row> rows = defaultScale(ListRows.batch(rnd, 60, new int[] {2, 16}, 30));
    String in = table(rows, "t");
    String out = dir.resolve("out").toString();
    Outcome o = cli("sql", "--table", "t=" + in, "--output", out, "--explain", QUERY);
    assertEquals(0, o.code(), o.err());
    assertTrue(o.out().contains("Physical Plan") && o.out().contains("wrote the result"), o.out());
    ListBatch.Result want = ListRows.layout(rows).evaluate();
    ListBatch b = ListRows.layout(rows);
    List<Row> got = spark.read().parquet(out).orderBy("id").collectAsList();
    assertEquals(rows.size(), got.size());
    for (Row r : got) {
      int i = r.getInt(0);
      assertEquals(want.isNull(i), r.isNullAt(1), "row " + i);
      if (!r.isNullAt(1)) {
        List<Object> ov = r.getStruct(1).getList(0);
        for (int c = 0; c < ov.size(); c++) {
          float x = want.o()[b.qOffsets[i] + c];
          assertTrue(Math.abs((Float) ov.get(c) - x) <= Math.ulp(x) + 1e-30, "row " + i + " o[" + c + "]");
        }
        assertEquals(want.lse()[i], r.getStruct(1).getDouble(1), 1e-12 * Math.max(1, Math.abs(want.lse()[i])));
      }
    }
    Outcome shown = cli("sql", "--table", "t=" + in, "--show", "3", QUERY + " ORDER BY id");
    assertEquals(0, shown.code(), shown.err());
    // laid out as Spark's show() does, values whole: the result struct as {[o...], lse}
    assertTrue(shown.out().lines().anyMatch(l -> l.matches("\\|id *\\|r *\\|")) && shown.out().contains("(3 row(s) shown")
        && shown.out().lines().filter(l -> l.matches("\\|\\d+ *\\|(\\{\\[.*\\], .*\\}|NULL) *\\|")).count() == 3, shown.out());
  }

  @Test
  void mistakesExit2AndWriteNothing() {
    SplittableRandom rnd = Seeds.fresh("SqlCommandTest mistakes");
    List<ListRows.Row> rows = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      rows.add(ListRows.row(rnd, 4, 3));
    }
    rows.set(3, ListRows.plant(rows.get(3), ListRows.Plant.KEY_LENGTH, 1));
    String in = table(defaultScale(rows), "bad");
    String out = dir.resolve("out").toString();
    Outcome bad = cli("sql", "--table", "t=" + in, "--output", out, QUERY);
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("flash_attention: argument 2 (keys) vector 1 has 5 values but q has 4"), bad.err());
    assertFalse(Files.exists(dir.resolve("out")), "nothing written");
    Outcome query = cli("sql", "--table", "t=" + in, "SELECT nope FROM t");
    assertEquals(2, query.code());
    assertTrue(query.err().contains("bad query"), query.err());
    Outcome missing = cli("sql", "--table", "t=" + dir.resolve("none"), QUERY);
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("cannot read"), missing.err());
    Outcome self = cli("sql", "--table", "t=" + in, "--output", in, "--overwrite", QUERY);
    assertEquals(2, self.code());
    assertTrue(self.err().contains("refusing to write there"), self.err());
    assertEquals(5, spark.read().parquet(in).count(), "the input is intact");
  }
}
