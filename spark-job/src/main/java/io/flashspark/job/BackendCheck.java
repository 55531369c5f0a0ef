package io.flashspark.job;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.Backends;
import io.flashspark.attention.Precision;
import io.flashspark.attention.TiledAttention;
import org.apache.spark.sql.SparkSession;

/**
 * What the driver can tell about the backend before any job starts: a precision the GPU cannot
 * compute, no usable GPU (local mode, where the driver is the executor), a head dimension no
 * backend has kernels for. Each is bad input (exit 2), reported in one line.
 */
final class BackendCheck {
  private BackendCheck() {}

  static void beforeReading(SparkSession spark, ScoreOptions options) {
    if (!options.backend().equals("gpu")) {
      return;
    }
    if (options.precision() == Precision.FP32) {
      throw new InputException("--backend gpu computes from bf16 or fp16 inputs (fp32 accumulation):"
          + " use --precision bf16 or fp16, or --backend cpu for fp32");
    }
    localGpu(spark);
    clusterGpus(spark.sparkContext().isLocal(), spark.sparkContext().getConf());
  }

  /**
   * On a cluster the executors compute, on the GPUs Spark gives their tasks: without GPU resources
   * in the job's settings no task would get one, and every cell would fail on its executor.
   */
  static void clusterGpus(boolean local, org.apache.spark.SparkConf conf) {
    if (local) {
      return;
    }
    double executorGpus = conf.getDouble("spark.executor.resource.gpu.amount", 0);
    double taskGpus = conf.getDouble("spark.task.resource.gpu.amount", 0);
    if (executorGpus <= 0 || taskGpus <= 0) {
      throw new InputException("--backend gpu on a cluster needs GPUs as Spark resources:"
          + " spark.executor.resource.gpu.amount (now " + fmt(executorGpus) + ") and spark.task.resource.gpu.amount"
          + " (now " + fmt(taskGpus) + ") must be set, with a discovery script where the cluster manager needs one"
          + " (conf/spark-cluster.conf, conf/gpu-discovery.sh; bin/flashspark-cluster start --gpus-per-worker G);"
          + " or use --backend auto or cpu");
    }
  }

  private static String fmt(double v) {
    return v <= 0 ? "unset" : Double.toString(v);
  }

  static void forDimension(SparkSession spark, ScoreOptions options, int dim) {
    if (dim > TiledAttention.MAX_DIM) {
      throw new InputException("head dimension " + dim + " is above what the backends support (CPU: up to "
          + TiledAttention.MAX_DIM + "; GPU kernels: 64 and 128)");
    }
    AttentionBackend gpu = options.backend().equals("gpu") ? localGpu(spark) : null;
    if (gpu != null && !gpu.supports(dim, options.precision())) {
      throw new InputException("--backend gpu has no kernel for head dimension " + dim + " at "
          + (options.precision() == null ? "bf16" : options.precision().label())
          + " (GPU kernels: d 64 and 128, bf16 and fp16): use --backend auto or cpu");
    }
  }

  /** The GPU backend where the driver computes too (local mode); null on a cluster (executors decide). */
  private static AttentionBackend localGpu(SparkSession spark) {
    if (!spark.sparkContext().isLocal()) {
      return null;
    }
    try {
      return Backends.forName("gpu");
    } catch (RuntimeException e) {
      throw new InputException("--backend gpu: no usable GPU here (" + Failures.firstLine(e)
          + "); use --backend auto or cpu");
    }
  }
}
