package io.flashspark.gpu;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;

/**
 * Java direct memory for staging rings: allocated (and zeroed, every page touched) by the JVM, and
 * freed at once rather than when the collector finds the buffer, through {@code
 * sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported; where that is missing, left to the
 * collector).
 */
final class DirectMemory {
  private static final Object UNSAFE;
  private static final Method INVOKE_CLEANER;

  static {
    Object unsafe = null;
    Method clean = null;
    try {
      Class<?> c = Class.forName("sun.misc.Unsafe");
      Field f = c.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      unsafe = f.get(null);
      clean = c.getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      unsafe = null;
      clean = null;
    }
    UNSAFE = unsafe;
    INVOKE_CLEANER = clean;
  }

  private DirectMemory() {}

  /**
   * {@code bytes} of zeroed direct memory, or null where Java's direct-memory budget ({@code
   * -XX:MaxDirectMemorySize}, by default the heap's size) cannot give them.
   */
  static ByteBuffer allocate(long bytes) {
    try {
      return ByteBuffer.allocateDirect(Math.toIntExact(bytes));
    } catch (OutOfMemoryError e) {
      return null;
    }
  }

  static void free(ByteBuffer buffer) {
    if (INVOKE_CLEANER == null || !buffer.isDirect()) {
      return;
    }
    try {
      INVOKE_CLEANER.invoke(UNSAFE, buffer);
    } catch (ReflectiveOperationException e) {
      // left to the collector
    }
  }
}
