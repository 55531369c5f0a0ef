package io.flashspark.job;

import org.apache.spark.sql.SparkSession;

/**
 * A session setting changed for one piece of the job's own work (a plan made, a table written) and
 * restored after, whether it succeeds or fails. A query of the same session planned at that moment on
 * another thread would see the setting too.
 */
final class SessionSettings {
  private SessionSettings() {}

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
