package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;

/** Rows read twice (cell results before a merge): every storage level gives back the same rows. */
class RowCacheTest extends SparkTestBase {
  @Test
  void memoryAndDiskKeepTheSameRows() {
    Dataset<Row> rows = spark.range(0, 5000, 1, 3).withColumn("payload",
        functions.expr("cast(repeat(cast(id as string), 1 + id % 7) as binary)"));
    List<Row> expected = rows.orderBy("id").collectAsList();
    // OFF_HEAP in a session without off-heap memory: Spark keeps the serialized rows on disk
    for (StorageLevel level : List.of(StorageLevel.MEMORY_AND_DISK(), StorageLevel.DISK_ONLY(), StorageLevel.OFF_HEAP())) {
      try (RowCache cache = new RowCache()) {
        Dataset<Row> kept = cache.keep(rows, level);
        assertEquals(5000, kept.count(), level.description()); // first read fills the cache
        assertEquals(expected, kept.orderBy("id").collectAsList(), level.description());
        assertEquals(1, spark.sparkContext().getPersistentRDDs().size(), level.description());
        assertEquals(level, spark.sparkContext().getPersistentRDDs().values().head().getStorageLevel());
      }
      assertEquals(0, spark.sparkContext().getPersistentRDDs().size(), "closing the cache drops its blocks");
    }
  }
}
