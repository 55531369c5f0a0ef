package io.flashspark.job;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * A session setting changed for one piece of the job's own work (a plan made, a table written) and
 * restored after, whether it succeeds or fails. A query of the same session planned at that moment on
 * another thread would see the setting too.
 */
final class SessionSettings {
  private SessionSettings() {}

  /**
   * {@code rows} as an RDD, nothing run yet: planned with Spark's adaptive execution off, which runs a
   * plan's shuffle map stages as soon as its RDD is made ({@code Dataset.toJavaRDD}), so the job's
   * routing shuffle, or the cells whose partials a merge shuffles, ran while the job was prepared:
   * outside the action that asks for the output (which {@code FlashAttention} documents as lazy) and
   * under no job description. For the job's own plans: fixed partition counts and no joins, nothing
   * for adaptive execution to re-plan.
   */
  static JavaRDD<Row> lazyRdd(Dataset<Row> rows) {
    return with(rows.sparkSession(), "spark.sql.adaptive.enabled", "false", rows::toJavaRDD);
  }

  static <T> T with(SparkSession spark, String key, String value, java.util.function.Supplier<T> work) {
    scala.Option<String> before = spark.conf().getOption(key);
    spark.conf().set(key, value);
    try {
      return work.get();
    } finally {
      if (before.isDefined()) {
        spark.conf().set(key, before.get());
      } else {
        spark.conf().unset(key);
      }
    }
  }
}
