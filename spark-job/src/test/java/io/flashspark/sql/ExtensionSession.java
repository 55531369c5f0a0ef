package io.flashspark.sql;

import org.apache.spark.sql.SparkSession;

/** A local session started with flashspark's SQL extension (a new one: extensions apply only to new sessions). */
final class ExtensionSession {
  private ExtensionSession() {}

  static SparkSession start(String app) {
    SparkSession.getActiveSession().foreach(s -> {
      s.stop(); // an earlier test class's session
      return null;
    });
    return SparkSession.builder().master("local[2]").appName(app).config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.extensions", FlashSparkExtensions.class.getName()).getOrCreate();
  }
}
