package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;

/** Where fragments wait between their two reads, and that either place gives back the same rows. */
class RowCacheTest extends SparkTestBase {
  @Test
  void inputsUpToAQuarterOfSparksPoolStayInMemoryLargerOnesGoToDisk() {
    long pool = 60L << 30; // a 100 GB executor
    assertEquals(StorageLevel.MEMORY_AND_DISK(), ScoreJob.fragmentLevel(6_442_450_944L, pool), "1M tokens x 8 heads");
    assertEquals(StorageLevel.MEMORY_AND_DISK(), ScoreJob.fragmentLevel(pool / 4, pool));
    assertEquals(StorageLevel.DISK_ONLY(), ScoreJob.fragmentLevel(pool / 4 + 1, pool));
    long small = 1L << 30; // a 2 GB executor: a 1M-token document's fragments stay on disk
    assertEquals(StorageLevel.DISK_ONLY(), ScoreJob.fragmentLevel(800L << 20, small));
    for (String[] forced : new String[][] {{"memory", "MEMORY_AND_DISK"}, {"disk", "DISK_ONLY"}, {"offheap", "OFF_HEAP"}}) {
      System.setProperty(ScoreJob.FRAGMENT_CACHE, forced[0]);
      try {
        assertEquals(StorageLevel.fromString(forced[1]), ScoreJob.fragmentLevel(1, pool), forced[0]);
      } finally {
        System.clearProperty(ScoreJob.FRAGMENT_CACHE);
      }
    }
    System.setProperty(ScoreJob.FRAGMENT_CACHE, "ram");
    try {
      InputException e = assertThrows(InputException.class,
          () -> ScoreJob.fragmentLevel(1, pool));
      assertTrue(e.getMessage().contains("auto, memory, disk or offheap"), e.getMessage());
    } finally {
      System.clearProperty(ScoreJob.FRAGMENT_CACHE);
    }
  }

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
