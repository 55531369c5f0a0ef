package io.flashspark.gpu;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
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

  /** Java's direct-memory budget: {@code -XX:MaxDirectMemorySize}, by default the heap's maximum. */
  static final long LIMIT = limit();

  /**
   * {@code bytes} of zeroed direct memory, or null where Java's direct-memory budget ({@link #LIMIT})
   * cannot give them.
   */
  static ByteBuffer allocate(long bytes) {
    return allocate(bytes, LIMIT);
  }

  /**
   * As {@link #allocate(long)} within a budget of {@code limit} bytes, checked before asking: short of
   * direct memory, the JDK calls {@code System.gc()} (a full collection of a heap that holds the
   * job's blocks: seconds on a GPU host's heap) and sleeps up to half a second before it gives up.
   */
  static ByteBuffer allocate(long bytes, long limit) {
    if (reserved() + bytes > limit) {
      return null;
    }
    try {
      return ByteBuffer.allocateDirect(Math.toIntExact(bytes));
    } catch (OutOfMemoryError e) {
      return null;
    }
  }

  /** Direct memory Java's buffers hold now. */
  static long reserved() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool.getMemoryUsed();
      }
    }
    return 0;
  }

  private static long limit() {
    try {
      String v = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
          .getVMOption("MaxDirectMemorySize").getValue();
      long set = Long.parseLong(v.trim());
      if (set > 0) {
        return set;
      }
    } catch (RuntimeException | LinkageError e) {
      // not HotSpot, or no jdk.management: the JDK's default below
    }
    return Runtime.getRuntime().maxMemory();
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
