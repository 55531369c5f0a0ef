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
        Path dir = Files.createDirectories(base.resolve("spark-" + OutputPaths.processTag()));
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

  private static void sweepDead(Path base) throws IOException {
    String prefix = "spark-" + OutputPaths.processTag().replaceAll("-[0-9]+$", "") + "-";
    File[] entries = base.toFile().listFiles((d, name) -> name.startsWith(prefix));
    if (entries == null) {
      return;
    }
    for (File f : entries) {
      try {
        long pid = Long.parseLong(f.getName().substring(prefix.length()));
        if (ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
          OutputPaths.deleteLocalTree(f.toPath(), e -> { });
        }
      } catch (NumberFormatException e) {
        // not ours
      }
    }
  }
}
