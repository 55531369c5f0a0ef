package io.flashspark.job;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * How much heap one task may fill with its cell, derived from the executors' memory: Spark keeps
 * 300 MiB for itself and 60% of the rest ({@code spark.memory.fraction}) for its execution and
 * storage (shuffle buffers, cached blocks); our cells live in the remaining "user memory", which
 * is shared by the executor's concurrent tasks.
 */
final class TaskMemory {
  private static final long RESERVED = 300L << 20;
  private static final long MIN_TASK_BYTES = 32L << 20;

  private TaskMemory() {}

  /** The share of one of {@code concurrent} tasks running at once in an executor. */
  static long defaultTaskBytes(SparkSession spark, int concurrent) {
    SparkConf conf = spark.sparkContext().getConf();
    long heap = executorHeap(spark);
    double userFraction = 1 - conf.getDouble("spark.memory.fraction", 0.6);
    return Math.max(MIN_TASK_BYTES, (long) ((heap - RESERVED) * userFraction / Math.max(1, concurrent)));
  }

  /** The memory Spark manages in one executor: its execution and storage pool (not the cells'). */
  static long sparkPoolBytes(SparkSession spark) {
    SparkConf conf = spark.sparkContext().getConf();
    return (long) ((executorHeap(spark) - RESERVED) * conf.getDouble("spark.memory.fraction", 0.6));
  }

  private static long executorHeap(SparkSession spark) {
    return spark.sparkContext().isLocal() ? Runtime.getRuntime().maxMemory()
        : spark.sparkContext().executorMemory() * (1L << 20);
  }

  /**
   * The G1 heap region size of the executors: this JVM's in local mode (where the driver
   * computes), else what G1 picks for the executor heap (heap / 2048, a power of two from 1 to
   * 32 MiB). 1 MiB, the smallest, where it cannot be told.
   */
  static long heapRegionBytes(SparkSession spark) {
    if (spark.sparkContext().isLocal()) {
      try {
        com.sun.management.HotSpotDiagnosticMXBean hotspot = java.lang.management.ManagementFactory
            .getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        if (Boolean.parseBoolean(hotspot.getVMOption("UseG1GC").getValue())) {
          return Long.parseLong(hotspot.getVMOption("G1HeapRegionSize").getValue());
        }
        return 1L << 20;
      } catch (RuntimeException e) {
        return 1L << 20;
      }
    }
    long heap = executorHeap(spark);
    long region = Long.highestOneBit(Math.max(1, heap / 2048));
    return Math.max(1L << 20, Math.min(32L << 20, region));
  }

  /** {@code --merge driver} holds every output row on the driver: refused when that cannot fit. */
  static void checkDriverMerge(long queryRows, int dim) {
    long need = queryRows * (2L * dim * Float.BYTES + 96); // partials, then rows (object headers included)
    long heap = Runtime.getRuntime().maxMemory();
    if (need > (heap - RESERVED) / 2) {
      throw new InputException(String.format("--merge driver would hold about %d MiB of output on the driver, which"
          + " has %d MiB of heap: use --merge distributed (the default)", need >> 20, heap >> 20));
    }
  }
}
