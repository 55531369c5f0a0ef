package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JCuda's native library extracted whole, also by JVMs starting at once on one temp directory (no GPU needed). */
class JCudaNativesTest {
  @TempDir Path dir;

  private static byte[] jarCopy() throws Exception {
    try (InputStream in = JCudaNatives.class.getResourceAsStream("/lib/" + JCudaNatives.libraryFileName())) {
      return in.readAllBytes();
    }
  }

  @Test
  void aTruncatedLibraryLeftByAKilledProcessIsReplaced() throws Exception {
    byte[] whole = jarCopy();
    Path target = dir.resolve(JCudaNatives.libraryFileName());
    Files.write(target, java.util.Arrays.copyOf(whole, whole.length / 3));
    assertEquals(target, JCudaNatives.prepare(dir));
    assertArrayEquals(whole, Files.readAllBytes(target));
    try (var s = Files.list(dir)) {
      assertTrue(s.noneMatch(p -> p.toString().endsWith(".partial")), "no private copies left behind");
    }
  }

  @Test
  void jvmsStartingAtOnceAllFindTheWholeLibrary() throws Exception {
    byte[] whole = jarCopy();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> jvms = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      jvms.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), JCudaNatives.class.getName(),
          dir.toString()).redirectErrorStream(true).start());
    }
    for (Process p : jvms) {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      String out = new String(p.getInputStream().readAllBytes()).trim();
      assertEquals(0, p.exitValue(), out);
      assertEquals(dir.resolve(JCudaNatives.libraryFileName()) + " " + whole.length, out,
          "each JVM finds the whole library as soon as it is told where it is");
    }
    assertArrayEquals(whole, Files.readAllBytes(dir.resolve(JCudaNatives.libraryFileName())));
  }
}
