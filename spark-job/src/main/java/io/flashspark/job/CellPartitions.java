package io.flashspark.job;

import org.apache.spark.unsafe.hash.Murmur3_x86_32;

/**
 * Exact placement of cells on shuffle partitions through Dataset operations. {@code
 * repartition(n, col)} sends a row to {@code pmod(murmur3(col, 42), n)}, so distinct cell ids can
 * collide (two cells in one task: half the parallelism, twice the memory). {@link #keys} finds,
 * for each partition p, the smallest int whose hash lands on p; a cell routed with key
 * {@code keys[cell % n]} lands exactly on partition {@code cell % n}.
 */
public final class CellPartitions {
  /** Spark's seed for hash partitioning (HashPartitioning: Murmur3Hash with seed 42). */
  private static final int SPARK_HASH_SEED = 42;

  private CellPartitions() {}

  public static int[] keys(int partitions) {
    int[] keys = new int[partitions];
    java.util.Arrays.fill(keys, -1);
    int found = 0;
    for (int k = 0; found < partitions; k++) {
      int p = partitionOf(k, partitions);
      if (keys[p] < 0) {
        keys[p] = k;
        found++;
      }
    }
    return keys;
  }

  /** The partition Spark's hash partitioning gives an int column value. */
  static int partitionOf(int value, int partitions) {
    return Math.floorMod(Murmur3_x86_32.hashInt(value, SPARK_HASH_SEED), partitions);
  }
}
