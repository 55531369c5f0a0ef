package io.flashspark.job;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.util.ShutdownHookManager;
import org.apache.spark.SparkConf;

/**
 * Spark's scratch space (shuffle files, spilled blocks) for the embedded local session: one
 * directory per process, {@code TMP/flashspark-USER/spark-HOST-PID}, deleted when the JVM exits
 * (also on SIGTERM/SIGINT), and directories of dead processes of this host (SIGKILL, a crash) are
 * deleted by the next run. Without this Spark scatters {@code blockmgr-*} and {@code spark-*}
 * directories in /tmp that a kill leaves behind. Not used when the user sets
 * {@code spark.local.dir} or {@code SPARK_LOCAL_DIRS}, or on a cluster, whose manager owns them.
 */
final class ScratchDirs {
  /** After Spark's own shutdown (priority 40), before Hadoop closes file systems (10). */
  private static final int SHUTDOWN_PRIORITY = 25;
  private static final String PREFIX = "spark-";
  private static volatile Path current;

  private ScratchDirs() {}

  /** Sets {@code spark.local.dir} on {@code conf} for a local master, unless already chosen. */
  static synchronized void configure(SparkConf conf, String master) {
    if (!master.startsWith("local") || conf.contains("spark.local.dir") || System.getenv("SPARK_LOCAL_DIRS") != null) {
      return;
    }
    if (current == null) {
      Path base = base();
      try {
        Files.createDirectories(base);
        sweepDead(base);
        Path dir = Files.createDirectories(base.resolve(PREFIX + OutputPaths.processTag()));
        ShutdownHookManager.get().addShutdownHook(() -> OutputPaths.deleteLocalTree(dir, e -> { }),
            SHUTDOWN_PRIORITY);
        current = dir;
      } catch (IOException e) {
        return; // Spark falls back to java.io.tmpdir
      }
    }
    conf.set("spark.local.dir", current.toString());
  }

  static Path base() {
    return Path.of(System.getProperty("java.io.tmpdir"), "flashspark-" + System.getProperty("user.name", "user"));
  }

  /** The directory this process uses, or null. */
  static Path current() {
    return current;
  }

  private static void sweepDead(Path base) {
    File[] entries = base.toFile().listFiles((d, name) -> name.startsWith(PREFIX)
        && OutputPaths.ownerIsDead(name.substring(PREFIX.length())));
    for (File f : entries == null ? new File[0] : entries) {
      OutputPaths.deleteLocalTree(f.toPath(), e -> { });
    }
  }
}
