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
  public static final long DEFAULT_MAX_KV_SHARD_BYTES = 1L << 30;
  public static final int AUTO_WRITE_TASKS = -1;
  /** Positions per block at most: a block is one Java array of T·d floats per vector. */
  public static final int MAX_BLOCK_SIZE = 1 << 20;

  /**
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
    if (maxKvShardBytes < 1 || maxTaskBytes < 0) {
      throw new InputException("--max-kv-shard-mb and --max-task-mb must be positive");
    }
    if (!Double.isNaN(scale) && !(scale > 0 && Double.isFinite(scale))) {
      throw new InputException("--scale must be a positive finite number, got " + scale);
    }
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
