package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packed Parquet tables packed from their scan's column batches: the same fragments as through rows. */
class ColumnarScanTest extends SparkTestBase {
  private static final List<String> QKV = List.of("q", "k", "v");

  @Test
  void aPackedTableReadFromItsBatchesGivesTheFragmentsOfTheRowPathProblemsIncluded(@TempDir Path dir) {
    SplittableRandom rnd = new SplittableRandom(7);
    int dim = 16;
    List<Row> rows = new ArrayList<>(rows(rnd, List.of(DocSpec.contiguous("a", 0, 0, 3000, dim),
        DocSpec.contiguous("a", 3, 100_000, 700, dim), DocSpec.contiguous("b", 1, 5, 40, dim)), QKV, VectorEncoding.BF16));
    byte[] ok = VectorEncoding.BF16.encode(new float[dim]);
    float[] nan = new float[dim];
    nan[3] = Float.NaN;
    rows.add(RowFactory.create("bad", 0, 7L, VectorEncoding.BF16.encode(nan), ok, ok)); // non-finite q
    rows.add(RowFactory.create("bad", 1, 8L, ok, null, ok));                          // null k
    rows.add(RowFactory.create("bad", 2, 9L, ok, ok, ok));                            // a position twice
    rows.add(RowFactory.create("bad", 2, 9L, ok, ok, ok));
    rows.add(RowFactory.create(null, 3, 10L, ok, ok, ok));                            // null doc id
    rows.add(RowFactory.create("bad", 4, 11L, ok, Arrays.copyOf(ok, dim), ok));       // k too short
    StructType nullable = DataTypes.createStructType(Arrays.stream(TokenTable.schema(VectorEncoding.BF16, QKV).fields())
        .map(f -> new StructField(f.name(), f.dataType(), true, f.metadata())).toArray(StructField[]::new));
    // rows shuffled over 3 files (doc ids alternate row to row), and sorted in one (long runs of one doc
    // id, which the batches' dictionary ids tell without decoding it)
    String shuffled = dir.resolve("shuffled").toString();
    spark.createDataFrame(rows, nullable).repartition(3).write().parquet(shuffled);
    String sorted = dir.resolve("sorted").toString();
    spark.createDataFrame(rows, nullable).orderBy("doc_id", "head", "pos").coalesce(1).write().parquet(sorted);
    for (String path : List.of(shuffled, sorted)) {
      assertSameFragments(spark.read().parquet(path));
    }
    // the sorted file's doc ids come as dictionary ids, and runs of them are told without decoding, by
    // parquet-mr's reader (the default for file partitions) and by the batches' views
    for (boolean parquetTokens : new boolean[] {true, false}) {
      System.setProperty("flashspark.parquetTokens", String.valueOf(parquetTokens));
      try {
        Class<?> expected = parquetTokens ? ParquetTokens.class : ColumnarScan.BatchRows.class;
        long[] rowsAndSame = ColumnarScan.of(spark.read().parquet(sorted), TableRole.SELF).orElseThrow().flatMap(it -> {
          if (it.getClass() != expected) {
            throw new IllegalStateException("rows read by " + it.getClass() + ", not " + expected);
          }
          ColumnarScan.SameDocId hint = (ColumnarScan.SameDocId) it;
          long n = 0;
          long same = 0;
          while (it.hasNext()) {
            it.next();
            n++;
            same += hint.sameDocId() ? 1 : 0;
          }
          return List.<org.apache.spark.sql.catalyst.InternalRow>of(
              new org.apache.spark.sql.catalyst.expressions.GenericInternalRow(new Object[] {n, same})).iterator();
        }, QKV).toJavaRDD().collect().stream().map(r -> new long[] {r.getLong(0), r.getLong(1)})
            .reduce((a, b) -> new long[] {a[0] + b[0], a[1] + b[1]}).orElseThrow();
        assertEquals(rows.size(), rowsAndSame[0]);
        assertTrue(rowsAndSame[1] >= rows.size() - 10, "rows told to share the previous row's doc id: " + rowsAndSame[1]);
      } finally {
        System.clearProperty("flashspark.parquetTokens");
      }
    }
  }

  /** The fragments packed from the scan's files (parquet-mr), from its batches, and through rows: the same. */
  private static void assertSameFragments(Dataset<Row> table) {
    assertTrue(ColumnarScan.of(table, TableRole.SELF).isPresent(), "a packed Parquet table is read from its batches");
    List<Row> viaFiles = fragments(table);
    List<Row> viaBatches;
    System.setProperty("flashspark.parquetTokens", "false");
    try {
      viaBatches = fragments(table);
    } finally {
      System.clearProperty("flashspark.parquetTokens");
    }
    assertEquals(viaBatches, viaFiles, "fragments packed by parquet-mr's reader and from the batches");
    List<Row> viaRows;
    System.setProperty("flashspark.columnarScan", "false");
    try {
      assertFalse(ColumnarScan.of(table, TableRole.SELF).isPresent());
      viaRows = fragments(table);
    } finally {
      System.clearProperty("flashspark.columnarScan");
    }
    assertEquals(viaRows.size(), viaBatches.size());
    // the duplicate position is seen here only when both rows fall in one input partition
    List<Object> problems = viaBatches.stream().map(r -> r.get(7)).filter(java.util.Objects::nonNull).toList();
    assertTrue(problems.size() >= 4, "each bad row recorded as a problem: " + problems);
    for (int i = 0; i < viaRows.size(); i++) {
      assertEquals(viaRows.get(i), viaBatches.get(i), "fragment " + i); // Row compares binary values by content
    }
  }

  @Test
  void otherTablesAreReadThroughRows(@TempDir Path dir) {
    SplittableRandom rnd = new SplittableRandom(8);
    List<DocSpec> docs = List.of(DocSpec.contiguous("a", 0, 0, 50, 8));
    String arrays = write(dir, "arrays", rows(rnd, docs, QKV, VectorEncoding.ARRAY), QKV, VectorEncoding.ARRAY, 1);
    String packed = write(dir, "packed", rows(rnd, docs, QKV, VectorEncoding.FP16), QKV, VectorEncoding.FP16, 1);
    assertFalse(ColumnarScan.of(spark.read().parquet(arrays), TableRole.SELF).isPresent(), "array<float> vectors");
    assertTrue(ColumnarScan.of(spark.read().parquet(packed), TableRole.SELF).isPresent());
    assertFalse(ColumnarScan.of(spark.read().parquet(packed).filter("pos > 3"), TableRole.SELF).isPresent(), "filtered");
    assertFalse(ColumnarScan.of(spark.read().parquet(packed).withColumn("head", org.apache.spark.sql.functions.expr("head + 1")),
        TableRole.SELF).isPresent(), "computed columns");
    assertFalse(ColumnarScan.of(spark.createDataFrame(rows(rnd, docs, QKV, VectorEncoding.FP16),
        TokenTable.schema(VectorEncoding.FP16, QKV)), TableRole.SELF).isPresent(), "not a file scan");
  }

  /**
   * The files are read (by the cells, the footer counts, the packing stage) with the session's Hadoop
   * settings, those given at run time included, as Spark's scan reads them: not the context's alone.
   */
  @Test
  void theScanCarriesTheSessionsHadoopSettings(@TempDir Path dir) {
    String packed = write(dir, "packed", rows(new SplittableRandom(9), List.of(DocSpec.contiguous("a", 0, 0, 20, 8)), QKV,
        VectorEncoding.BF16), QKV, VectorEncoding.BF16, 1);
    spark.conf().set("fs.flashspark-test.setting", "given at run time");
    try {
      assertEquals(null, spark.sparkContext().hadoopConfiguration().get("fs.flashspark-test.setting"));
      assertEquals("given at run time", ColumnarScan.of(spark.read().parquet(packed), TableRole.SELF).orElseThrow()
          .hadoop().get("fs.flashspark-test.setting"));
    } finally {
      spark.conf().unset("fs.flashspark-test.setting");
    }
  }

  /**
   * Where the RAPIDS Accelerator is loaded, the table's scan is planned with its SQL planning off
   * (it would put the scan on the GPU and leave the cells no file scan to read), and the session's
   * setting is as it was afterwards: a value given, or none.
   */
  @Test
  void theScanIsPlannedWithTheRapidsAcceleratorsSqlPlanningOff() {
    String key = ColumnarScan.RAPIDS_SQL_ENABLED;
    assertFalse(ColumnarScan.rapidsLoaded(spark), "this test session loads no plugin");
    for (String before : new String[] {"true", null}) {
      if (before == null) {
        spark.conf().unset(key);
      } else {
        spark.conf().set(key, before);
      }
      String during = ColumnarScan.plannedOnCpu(spark, true, () -> spark.conf().get(key));
      assertEquals("false", during);
      assertEquals(before, spark.conf().getOption(key).isDefined() ? spark.conf().get(key) : null);
      assertEquals(before == null ? "unset" : before,
          ColumnarScan.plannedOnCpu(spark, false, () -> spark.conf().getOption(key).getOrElse(() -> "unset")),
          "no plugin: nothing changed");
      // restored when planning fails too
      assertThrows(IllegalStateException.class, () -> ColumnarScan.plannedOnCpu(spark, true, () -> {
        throw new IllegalStateException("planning failed");
      }));
      assertEquals(before, spark.conf().getOption(key).isDefined() ? spark.conf().get(key) : null);
    }
  }

  private static List<Row> fragments(Dataset<Row> table) {
    return Fragments.pack(table, "tokens", TableRole.SELF, null, 512, null, -1).rows()
        .orderBy("doc_id", "head", "block", "min_pos", "max_pos", "rows").collectAsList();
  }
}
