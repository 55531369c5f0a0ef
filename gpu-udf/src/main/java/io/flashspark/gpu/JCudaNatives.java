package io.flashspark.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Puts JCuda's native library where JCuda will look for it, whole, before JCuda loads it.
 *
 * <p>JCuda writes its library from the jar into {@code java.io.tmpdir} under a fixed name when no
 * file of that name exists, then loads whatever file is there. Two executor JVMs starting on one
 * host with a shared temp directory race: one loads the file the other is still writing
 * ({@code UnsatisfiedLinkError}), and a JVM killed mid-write leaves a truncated file that every
 * later JVM loads. Here, under an inter-process lock on that directory, a missing file or one of
 * the wrong size is written under a private name and moved into place atomically, so the file at
 * the fixed name is only ever complete.
 */
final class JCudaNatives {
  private static boolean prepared;

  private JCudaNatives() {}

  /** Once per JVM, before the first JCuda call; failures are left for JCuda's own loading to report. */
  static synchronized void prepare() {
    if (prepared) {
      return;
    }
    prepared = true;
    try {
      prepare(Path.of(System.getProperty("java.io.tmpdir")));
    } catch (IOException | LinkageError | RuntimeException e) {
      // e.g. a platform JCuda has no natives for: JCuda's loader says so in its own words
    }
  }

  /** The library file JCuda loads on this platform, e.g. {@code libJCudaDriver-12.6.0-linux-x86_64.so}. */
  static String libraryFileName() {
    return jcuda.LibUtils.createLibraryFileName(
        jcuda.LibUtils.createPlatformLibraryName("JCudaDriver-" + jcuda.JCudaVersion.get()));
  }

  /** Makes {@code dir/libraryFileName()} a complete copy of the jar's library; returns it. */
  static Path prepare(Path dir) throws IOException {
    String name = libraryFileName();
    String resource = "/lib/" + name;
    long size;
    try (InputStream in = JCudaNatives.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("no " + resource + " on the class path");
      }
      size = in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    Files.createDirectories(dir);
    Path target = dir.resolve(name);
    try (FileChannel lockFile = FileChannel.open(dir.resolve(name + ".lock"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
      if (Files.isRegularFile(target) && Files.size(target) == size) {
        return target;
      }
      Path partial = Files.createTempFile(dir, name, ".partial");
      try (InputStream in = JCudaNatives.class.getResourceAsStream(resource)) {
        Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(partial);
      }
      return target;
    }
  }

  /**
   * {@code JCudaNatives DIR}: prepares the library in DIR and prints its path and the size this
   * process finds there right after (the multi-process test).
   */
  public static void main(String[] args) throws IOException {
    Path p = prepare(Path.of(args[0]));
    System.out.println(p + " " + Files.size(p));
  }
}
