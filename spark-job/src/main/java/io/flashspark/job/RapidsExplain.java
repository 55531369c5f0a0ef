package io.flashspark.job;

import java.lang.reflect.Method;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * For {@code --explain} where the session loads the RAPIDS Accelerator: the plugin's own account of
 * the operators it would leave on the CPU and why, through its public API
 * ({@code com.nvidia.spark.rapids.ExplainPlan.explainPotentialGpuPlan}), so a user reads the fallbacks
 * beside the plan instead of in the driver log. That API explains a dataset's executed plan as a CPU
 * plan; with the plugin active that plan already holds its GPU operators, so it is given a copy of the
 * dataset planned with the plugin's SQL planning off ({@link ColumnarScan#plannedOnCpu}). Reflection
 * keeps the plugin out of the default build.
 */
final class RapidsExplain {
  static final String API = "com.nvidia.spark.rapids.ExplainPlan";

  private RapidsExplain() {}

  /** The plugin's lines for {@code d}, or null where the session does not load the plugin. */
  static String notOnGpu(Dataset<Row> d) {
    SparkSession spark = d.sparkSession();
    if (!ColumnarScan.rapidsLoaded(spark)) {
      return null;
    }
    try {
      Method explain = api().getMethod("explainPotentialGpuPlan", Dataset.class, String.class);
      org.apache.spark.sql.classic.SparkSession classic = (org.apache.spark.sql.classic.SparkSession) spark;
      Dataset<Row> onCpu = ColumnarScan.plannedOnCpu(spark, true, () -> {
        Dataset<Row> copy = org.apache.spark.sql.classic.Dataset.ofRows(classic,
            ((org.apache.spark.sql.classic.Dataset<Row>) d).queryExecution().logical());
        ((org.apache.spark.sql.classic.Dataset<Row>) copy).queryExecution().executedPlan(); // planned now
        return copy;
      });
      String lines = ((String) explain.invoke(null, onCpu, "NOT_ON_GPU")).strip();
      return lines.isEmpty() ? "every operator would run on the GPU" : lines;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      Throwable cause = e instanceof java.lang.reflect.InvocationTargetException && e.getCause() != null ? e.getCause() : e;
      return "(the plugin could not explain the plan: " + Failures.firstLine(cause) + ")";
    }
  }

  /** From the context class loader (SparkSubmit's, which holds the plugin's jar), else this class's. */
  private static Class<?> api() throws ClassNotFoundException {
    try {
      return Class.forName(API, true, Thread.currentThread().getContextClassLoader());
    } catch (ClassNotFoundException e) {
      return Class.forName(API, true, RapidsExplain.class.getClassLoader());
    }
  }
}
