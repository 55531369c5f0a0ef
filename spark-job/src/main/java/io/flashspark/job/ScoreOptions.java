package io.flashspark.job;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.CpuBackend;
import io.flashspark.attention.Precision;
import java.io.Serializable;

/**
 * Everything {@code score} takes. {@code precision == null} means the backend's own default:
 * fp32 on the CPU, bf16 on the GPU (its kernels take 16-bit inputs).
 */
public record ScoreOptions(
    String input,
    String output,
    String queries,
    boolean causal,
    int blockSize,
    MergeMode merge,
    String backend,
    Precision precision,
    double scale,
    VectorEncoding packedAs,
    int targetCells,
    long maxKvShardBytes,
    long maxTaskBytes,
    boolean overwrite,
    VectorEncoding outputFormat,
    int writeTasks) implements Serializable {

  public enum MergeMode { DRIVER, DISTRIBUTED }

  public static final int DEFAULT_BLOCK_SIZE = 2048;
  /** The KV shard limit where cells widen vectors to fp32 (CPU), unless asked otherwise. */
  public static final long DEFAULT_MAX_KV_SHARD_BYTES = 1L << 30;
  /** {@code maxKvShardBytes} for "by the backend" ({@link #kvShardLimit}). */
  public static final long AUTO_MAX_KV_SHARD_BYTES = 0;
  public static final int AUTO_WRITE_TASKS = -1;
  /** Positions per block at most: a block is one Java array of T·d floats per vector. */
  public static final int MAX_BLOCK_SIZE = 1 << 20;

  /**
   * {@code maxKvShardBytes} {@link #AUTO_MAX_KV_SHARD_BYTES}: see {@link #kvShardLimit};
   * {@code maxTaskBytes} 0: derived from the executors' memory ({@link TaskMemory});
   * {@code outputFormat} how {@code o} is written (see {@link OutputTable}); {@code writeTasks}:
   * tasks that write the output, 0 for the cells' own tasks, {@link #AUTO_WRITE_TASKS} to decide
   * from the plan (see {@code ScoreJob}).
   */
  public ScoreOptions {
    if (outputFormat == null) {
      outputFormat = VectorEncoding.ARRAY;
    }
    if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
      throw new InputException("--block-size must be between 1 and " + MAX_BLOCK_SIZE + ", got " + blockSize);
    }
    if (writeTasks < AUTO_WRITE_TASKS) {
      throw new InputException("--write-tasks must be 0 (the cells' tasks) or more, got " + writeTasks);
    }
    if (maxKvShardBytes < 0 || maxTaskBytes < 0) {
      throw new InputException("--max-kv-shard-mb and --max-task-mb must be positive");
    }
    if (!Double.isNaN(scale) && !(scale > 0 && Double.isFinite(scale))) {
      throw new InputException("--scale must be a positive finite number, got " + scale);
    }
  }

  /**
   * The largest KV shard (its k and v counted in fp32) a cell may hold: the option when given;
   * else 1 GiB where the cells widen vectors to fp32 (the CPU kernel's copy), and nothing beyond
   * the task memory where they stay packed (the GPU backend, which keeps a cell's K/V whole on the
   * device and cuts launches to its memory): cutting a long document's K/V into 1 GiB shards
   * there would only add partials to merge (16M tokens: 16 per query row).
   */
  long kvShardLimit(boolean widened) {
    return maxKvShardBytes > 0 ? maxKvShardBytes : widened ? DEFAULT_MAX_KV_SHARD_BYTES : Long.MAX_VALUE / 4;
  }

  public AttentionSpec spec() {
    return new AttentionSpec(scale, causal, precision);
  }

  /** The spec a backend runs: an unset precision becomes the backend's native one. */
  static AttentionSpec resolvePrecision(AttentionSpec spec, AttentionBackend backend) {
    if (spec.precision() != null) {
      return spec;
    }
    return spec.withPrecision(backend == CpuBackend.INSTANCE ? Precision.FP32 : Precision.BF16);
  }
}
