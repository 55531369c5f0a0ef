package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.Precision;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;

/**
 * The packed bytes BlockStats derives from rows, fragments and dimension (it never reads the packed
 * values) equal the bytes of the fragments themselves, for every role and travelling precision.
 */
class BlockStatsTest extends SparkTestBase {
  @Test
  void derivedBytesAreTheFragmentsOwn() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("BlockStatsTest");
    List<DocSpec> docs = List.of(DocSpec.contiguous("a", 0, 0, 1500, 8), DocSpec.contiguous("a", 2, 700, 333, 8),
        DocSpec.contiguous("b", 1, 5, 40, 8));
    for (TableRole role : TableRole.values()) {
      List<String> columns = role.vectorColumns();
      for (VectorEncoding input : List.of(VectorEncoding.BF16, VectorEncoding.ARRAY)) {
        for (Precision precision : new Precision[] {null, Precision.FP16}) {
          // shuffled over 3 partitions: most blocks arrive as several fragments
          Dataset<Row> table = spark.createDataFrame(rows(rnd, docs, columns, input), TokenTable.schema(input, columns))
              .repartition(3);
          Fragments.Table fragments = Fragments.pack(table, "t", role, null, 256, precision, null, null);
          BlockStats stats = BlockStats.of(fragments, "t");
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
}
