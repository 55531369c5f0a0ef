package io.flashspark.job;

import org.apache.spark.sql.SparkSession;

/**
 * A session setting changed while one query is planned and restored after: settings that Spark and
 * its plugins read as a plan is made (not as it runs), for the job's own plans only. A query of the
 * same session planned at that moment on another thread would see the setting too.
 */
final class SessionSettings {
  private SessionSettings() {}

  static <T> T with(SparkSession spark, String key, String value, java.util.function.Supplier<T> plan) {
    scala.Option<String> before = spark.conf().getOption(key);
    spark.conf().set(key, value);
    try {
      return plan.get();
    } finally {
      if (before.isDefined()) {
        spark.conf().set(key, before.get());
      } else {
        spark.conf().unset(key);
      }
    }
  }
}
