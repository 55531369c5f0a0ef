package io.flashspark.job;

import java.io.IOException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/** Refuses an existing output before any work is done, not after an hour of it. */
final class OutputPaths {
  private OutputPaths() {}

  static void checkWritable(SparkSession spark, String output, boolean overwrite) {
    if (overwrite) {
      return;
    }
    try {
      Path path = new Path(output);
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (fs.exists(path)) {
        throw new InputException("output '" + output + "' already exists; pass --overwrite to replace it");
      }
    } catch (IOException e) {
      throw new InputException("cannot check output '" + output + "': " + e.getMessage());
    }
  }
}
