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

  static long defaultTaskBytes(SparkSession spark) {
    SparkConf conf = spark.sparkContext().getConf();
    boolean local = spark.sparkContext().isLocal();
    long heap = local ? Runtime.getRuntime().maxMemory() : spark.sparkContext().executorMemory() * (1L << 20);
    double userFraction = 1 - conf.getDouble("spark.memory.fraction", 0.6);
    int slots = Math.max(1, (local ? spark.sparkContext().defaultParallelism() : conf.getInt("spark.executor.cores", 1))
        / Math.max(1, conf.getInt("spark.task.cpus", 1)));
    return Math.max(MIN_TASK_BYTES, (long) ((heap - RESERVED) * userFraction / slots));
  }

  /**
   * Partitions for packing a table's tokens into blocks: enough that one partition's blocks
   * (decoded to fp32: up to twice the bytes of a 16-bit table on disk) take at most a quarter of
   * a task's memory, and at least one per core.
   */
  static int blockPartitions(SparkSession spark, String table, long taskBytes) {
    long onDisk;
    try {
      org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(table);
      onDisk = path.getFileSystem(spark.sparkContext().hadoopConfiguration()).getContentSummary(path).getLength();
    } catch (java.io.IOException e) {
      onDisk = 0; // the read reports the problem
    }
    long partitions = (2 * onDisk + taskBytes / 4 - 1) / Math.max(1, taskBytes / 4);
    return (int) Math.min(1 << 20, Math.max(spark.sparkContext().defaultParallelism(), partitions));
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
