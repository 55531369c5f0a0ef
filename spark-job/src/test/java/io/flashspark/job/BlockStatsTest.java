package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.Precision;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import java.nio.file.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The statistics BlockStats counts from the tokens' keys alone (rows, fragments, and the packed
 * bytes derived from them and the dimension) equal those of the fragments the job then packs from
 * the same table, for every role and travelling precision; bad keys are reported before planning.
 */
class BlockStatsTest extends SparkTestBase {
  @TempDir Path dir;

  @Test
  void derivedBytesAreTheFragmentsOwn() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("BlockStatsTest");
    List<DocSpec> docs = List.of(DocSpec.contiguous("a", 0, 0, 1500, 8), DocSpec.contiguous("a", 2, 700, 333, 8),
        DocSpec.contiguous("b", 1, 5, 40, 8));
    for (TableRole role : TableRole.values()) {
      List<String> columns = role.vectorColumns();
      for (VectorEncoding input : List.of(VectorEncoding.BF16, VectorEncoding.ARRAY)) {
        for (Precision precision : new Precision[] {null, Precision.FP16}) {
          // shuffled into 3 files read as 3 partitions: most blocks arrive as several fragments
          String path = dir.resolve(role + "-" + input + "-" + precision).toString();
          spark.createDataFrame(rows(rnd, docs, columns, input), TokenTable.schema(input, columns)).repartition(3)
              .write().option("maxRecordsPerFile", 1000).parquet(path);
          Dataset<Row> table = spark.read().parquet(path); // small files: one partition each
          Fragments.Table fragments = Fragments.pack(table, "t", role, null, 256, precision, 8);
          BlockStats stats = BlockStats.of(BlockStats.count(TokenTable.columns(table, "t", role, null), 256, "t"),
              fragments, 8);
          Map<BlockKey, long[]> actual = new HashMap<>();
          for (Row r : fragments.rows().groupBy(TokenTable.DOC_ID, TokenTable.HEAD, "block")
              .agg(functions.coalesce(functions.sum(functions.length(functions.col("q"))), functions.lit(0L)),
                  functions.coalesce(functions.sum(functions.length(functions.col("kv"))), functions.lit(0L)),
                  functions.count(functions.lit(1)))
              .collectAsList()) {
            actual.put(new BlockKey(new DocHead(r.getString(0), r.getInt(1)), r.getLong(2)),
                new long[] {r.getLong(3), r.getLong(4), r.getLong(5)});
          }
          String what = role + " " + input + " as " + precision;
          assertEquals(actual.keySet(), stats.blocks().keySet(), what);
          assertTrue(actual.values().stream().anyMatch(a -> a[2] > 1), what + ": some block in several fragments");
          assertEquals(1500 + 333 + 40, stats.rows(), what);
          for (Map.Entry<BlockKey, BlockStats.Block> e : stats.blocks().entrySet()) {
            long[] a = actual.get(e.getKey());
            assertEquals(a[0], e.getValue().queryBytes(), what + " " + e.getKey() + " query bytes");
            assertEquals(a[1], e.getValue().keyBytes(), what + " " + e.getKey() + " key bytes");
            assertEquals(a[2], e.getValue().fragments(), what + " " + e.getKey() + " fragments");
          }
        }
      }
    }
  }

  @Test
  void nullKeysAndHeadsOutOfRangeAreReportedBeforePlanning() {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, true),
        DataTypes.createStructField(TokenTable.HEAD, DataTypes.LongType, true),
        DataTypes.createStructField(TokenTable.POS, DataTypes.LongType, true),
        TokenTable.vectorField("q", VectorEncoding.ARRAY), TokenTable.vectorField("k", VectorEncoding.ARRAY),
        TokenTable.vectorField("v", VectorEncoding.ARRAY)));
    float[] x = {1f, 2f};
    Dataset<Row> table = spark.createDataFrame(List.of(RowFactory.create("a", 0L, 0L, x, x, x),
        RowFactory.create("a", 0L, null, x, x, x), RowFactory.create("b", 1L << 40, 3L, x, x, x),
        RowFactory.create(null, 1L, 3L, x, x, x)), schema);
    TokenTable.Columns cols = TokenTable.columns(table, "t", TableRole.SELF, null);
    assertEquals(2, TokenTable.headDimension(cols, "t"));
    InputException e = assertThrows(InputException.class, () -> BlockStats.count(cols, 4, "t"));
    assertTrue(e.getMessage().contains("doc 'a' head 0: null doc_id, head or pos in 1 row(s)"), e.getMessage());
    assertTrue(e.getMessage().contains("doc '<null>' head 1"), e.getMessage());
    assertTrue(e.getMessage().contains("doc 'b': head 1099511627776 does not fit a 32-bit int (1 row(s))"),
        e.getMessage());
  }
}
