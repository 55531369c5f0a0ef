package io.flashspark.job;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.util.ShutdownHookManager;

/**
 * Where a command's output goes, and how it lands without ever losing data.
 *
 * <ul>
 *   <li>{@link #checkSeparate}: an output that is an input, lies inside one or contains one is
 *       refused, however the paths are spelled (relative, trailing slash, {@code file:} URI,
 *       symbolic links), with or without {@code --overwrite}.</li>
 *   <li>{@link #stage}: the output is written into a hidden staging directory beside it
 *       ({@code .NAME.flashspark-staging-HOST-PID-ID}) and moved into place only when complete;
 *       with {@code --overwrite} the old output is moved aside first and deleted only after the
 *       new one is in place. A failed or interrupted run deletes its staging directory (also on
 *       SIGTERM/SIGINT); one left by a killed process is removed by the next run for the same
 *       output, and an old output moved aside by a run killed mid-swap is put back.</li>
 * </ul>
 */
final class OutputPaths {
  private static final String STAGING = ".flashspark-staging-";
  private static final String OLD = ".flashspark-old-";
  /** Before Hadoop closes its file systems (priority 10), after nothing else we depend on. */
  private static final int SHUTDOWN_PRIORITY = 20;

  private OutputPaths() {}

  /** Refuses an output that is, contains or lies inside any of {@code inputs} (role -> path). */
  static void checkSeparate(Configuration conf, String output, Map<String, String> inputs) {
    Path out = canonical(conf, output);
    for (Map.Entry<String, String> in : inputs.entrySet()) {
      if (in.getValue() == null) {
        continue;
      }
      Path input = canonical(conf, in.getValue());
      String relation = out.equals(input) ? "is" : isAncestor(out, input) ? "contains"
          : isAncestor(input, out) ? "lies inside" : null;
      if (relation != null) {
        throw new InputException("output '" + output + "' " + relation + " the " + in.getKey() + " table '"
            + in.getValue() + "'; refusing to write there (with or without --overwrite): choose another output");
      }
    }
  }

  /**
   * Refuses an existing output unless {@code overwrite}, and an output where nothing can be created:
   * checked before any work, not after an hour of it.
   */
  static void checkWritable(Configuration conf, String output, boolean overwrite) {
    try {
      Path path = new Path(output);
      FileSystem fs = path.getFileSystem(conf);
      if (!overwrite && fs.exists(path)) {
        throw new InputException("output '" + output + "' already exists; pass --overwrite to replace it");
      }
      checkCreatable(fs, fs.makeQualified(path), output);
    } catch (IOException e) {
      throw new InputException("cannot check output '" + output + "': " + e.getMessage());
    }
  }

  /**
   * Makes and removes an empty directory beside the output (named as a staging directory, so a run
   * killed in between leaves what the next one clears): Hadoop's committer only logs a directory it
   * could not make, so an output under a directory nobody may write failed in the tasks, after the
   * cells had computed.
   */
  private static void checkCreatable(FileSystem fs, Path target, String output) throws IOException {
    if (target.getParent() == null) {
      throw new InputException("output '" + output + "' is a file system's root; choose a directory under it");
    }
    Path probe = sibling(target, STAGING + processTag() + "-probe-" + UUID.randomUUID());
    boolean made;
    try {
      made = fs.mkdirs(probe);
    } catch (IOException e) {
      throw new InputException("cannot create output '" + output + "': " + e.getMessage());
    }
    if (!made) {
      throw new InputException("cannot create output '" + output + "': its directory '" + target.getParent()
          + "' cannot be created or written");
    }
    fs.delete(probe, true);
  }

  /**
   * A fresh staging directory for {@code output}; write there, then {@link Staged#commit}. Cleans
   * up what killed runs for the same output left behind.
   */
  static Staged stage(Configuration conf, String output, boolean overwrite) {
    checkWritable(conf, output, overwrite);
    try {
      Path target = new Path(output);
      FileSystem fs = target.getFileSystem(conf);
      target = fs.makeQualified(target);
      recoverLeftovers(fs, target);
      Path staging = sibling(target, STAGING + processTag() + "-" + UUID.randomUUID());
      return new Staged(fs, target, staging, overwrite);
    } catch (IOException e) {
      throw new InputException("cannot prepare output '" + output + "': " + e.getMessage());
    }
  }

  /** An output being written: {@link #path()} to write to, {@link #commit()} to move it into place. */
  static final class Staged implements AutoCloseable {
    private final FileSystem fs;
    private final Path target;
    private final Path staging;
    private final boolean overwrite;
    private final Runnable onShutdown;
    private boolean committed;

    private Staged(FileSystem fs, Path target, Path staging, boolean overwrite) {
      this.fs = fs;
      this.target = target;
      this.staging = staging;
      this.overwrite = overwrite;
      this.onShutdown = () -> deleteQuietly(fs, staging);
      ShutdownHookManager.get().addShutdownHook(onShutdown, SHUTDOWN_PRIORITY);
    }

    String path() {
      return staging.toString();
    }

    /** Moves the complete output into place; with overwrite the old one is deleted only afterwards. */
    void commit() {
      try {
        Path old = null;
        if (fs.exists(target)) {
          if (!overwrite) {
            throw new InputException("output '" + target + "' appeared while the job ran; the result is kept in '"
                + staging + "'");
          }
          old = sibling(target, OLD + processTag() + "-" + UUID.randomUUID());
          rename(target, old);
        }
        try {
          rename(staging, target);
        } catch (IOException e) {
          if (old != null) {
            rename(old, target); // put the previous result back
          }
          throw e;
        }
        committed = true;
        if (old != null) {
          fs.delete(old, true);
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot move the output into place at '" + target + "': " + e.getMessage(),
            e);
      }
    }

    private void rename(Path from, Path to) throws IOException {
      if (!fs.rename(from, to)) {
        throw new IOException("rename of '" + from + "' to '" + to + "' failed");
      }
    }

    /** Deletes the staging directory unless committed. */
    @Override public void close() {
      if (!committed) {
        deleteQuietly(fs, staging);
      }
      ShutdownHookManager.get().removeShutdownHook(onShutdown);
    }
  }

  /**
   * Staging directories of dead processes of this host are deleted; an old output moved aside by
   * a run killed between its two renames is put back when the output itself is missing.
   */
  private static void recoverLeftovers(FileSystem fs, Path target) throws IOException {
    Path parent = target.getParent();
    if (parent == null || !fs.exists(parent)) {
      return;
    }
    String prefix = "." + target.getName();
    for (FileStatus s : fs.listStatus(parent, p -> p.getName().startsWith(prefix + STAGING)
        || p.getName().startsWith(prefix + OLD))) {
      String name = s.getPath().getName();
      boolean staging = name.startsWith(prefix + STAGING);
      String tag = name.substring(prefix.length() + (staging ? STAGING.length() : OLD.length()));
      if (!ownerIsDead(tag)) {
        continue;
      }
      if (!staging && !fs.exists(target)) {
        fs.rename(s.getPath(), target);
      } else {
        fs.delete(s.getPath(), true);
      }
    }
  }

  /**
   * {@code HOST-PID} or {@code HOST-PID-UUID} (see {@link #processTag}): dead when HOST is this
   * host and no process PID runs here.
   */
  static boolean ownerIsDead(String tag) {
    String host = hostName();
    if (!tag.startsWith(host + "-")) {
      return false;
    }
    String rest = tag.substring(host.length() + 1);
    int dash = rest.indexOf('-');
    try {
      long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
      return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  static String processTag() {
    return hostName() + "-" + ProcessHandle.current().pid();
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName().replace('-', '_');
    } catch (IOException e) {
      String name = ManagementFactory.getRuntimeMXBean().getName();
      return name.substring(name.indexOf('@') + 1).replace('-', '_');
    }
  }

  private static Path sibling(Path target, String suffix) {
    return new Path(target.getParent(), "." + target.getName() + suffix);
  }

  private static void deleteQuietly(FileSystem fs, Path path) {
    try {
      fs.delete(path, true);
    } catch (IOException | RuntimeException e) {
      // best effort: the next run for the same output removes it
    }
  }

  /**
   * The path with scheme and authority, normalised, with symbolic links resolved on the local
   * file system (for the longest existing prefix: the rest does not exist yet, so holds no link).
   */
  static Path canonical(Configuration conf, String path) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      Path qualified = fs.makeQualified(p);
      if (!"file".equals(qualified.toUri().getScheme())) {
        return qualified;
      }
      java.nio.file.Path local = java.nio.file.Path.of(qualified.toUri()).normalize();
      List<String> missing = new ArrayList<>();
      while (local != null) {
        try {
          java.nio.file.Path real = local.toRealPath();
          for (int i = missing.size() - 1; i >= 0; i--) {
            real = real.resolve(missing.get(i));
          }
          return fs.makeQualified(new Path(real.toString()));
        } catch (NoSuchFileException e) {
          missing.add(local.getFileName() == null ? "" : local.getFileName().toString());
          local = local.getParent();
        }
      }
      return qualified;
    } catch (IOException | IllegalArgumentException e) {
      throw new InputException("bad path '" + path + "': " + e.getMessage());
    }
  }

  private static boolean isAncestor(Path ancestor, Path path) {
    for (Path p = path.getParent(); p != null; p = p.getParent()) {
      if (p.equals(ancestor)) {
        return true;
      }
    }
    return false;
  }

  /** Deletes a local directory tree, best effort (Spark's local dirs, the demo's temporary data). */
  static void deleteLocalTree(java.nio.file.Path root, Consumer<IOException> onError) {
    if (!Files.exists(root)) {
      return;
    }
    try (var walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          onError.accept(e);
        }
      });
    } catch (IOException e) {
      onError.accept(e);
    }
  }
}
