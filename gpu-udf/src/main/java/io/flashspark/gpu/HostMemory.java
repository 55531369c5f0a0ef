package io.flashspark.gpu;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import jcuda.Pointer;

/**
 * Host memory outside Java's heap and outside its direct-memory budget (an executor's
 * {@code -XX:MaxDirectMemorySize} defaults to its heap, which sixteen 256 MB staging rings could
 * exceed), allocated and freed through {@code sun.misc.Unsafe} (module jdk.unsupported) and touched
 * on allocation, so that registering it with the driver only pins pages that exist. Where that
 * class is missing, {@link #available} is false and callers fall back to the driver's allocator.
 */
final class HostMemory {
  private static final Object UNSAFE;
  private static final Method ALLOCATE;
  private static final Method SET;
  private static final Method FREE;

  static {
    Object unsafe = null;
    Method allocate = null;
    Method set = null;
    Method free = null;
    try {
      Class<?> c = Class.forName("sun.misc.Unsafe");
      Field f = c.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      unsafe = f.get(null);
      allocate = c.getMethod("allocateMemory", long.class);
      set = c.getMethod("setMemory", long.class, long.class, byte.class);
      free = c.getMethod("freeMemory", long.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      unsafe = null;
    }
    UNSAFE = unsafe;
    ALLOCATE = allocate;
    SET = set;
    FREE = free;
  }

  private HostMemory() {}

  static boolean available() {
    return UNSAFE != null;
  }

  private static final long PAGE = 4096;

  /** {@code bytes} of zeroed host memory from a page boundary, every page touched. */
  static Address allocate(long bytes) {
    try {
      long base = (Long) ALLOCATE.invoke(UNSAFE, bytes + PAGE);
      long address = (base + PAGE - 1) & -PAGE;
      SET.invoke(UNSAFE, address, bytes, (byte) 0);
      return new Address(base, address);
    } catch (ReflectiveOperationException e) {
      throw new GpuException("could not allocate " + bytes + " bytes of host memory: " + e.getCause());
    }
  }

  static void free(Address memory) {
    try {
      FREE.invoke(UNSAFE, memory.base);
    } catch (ReflectiveOperationException e) {
      throw new GpuException("could not free host memory: " + e.getCause());
    }
  }

  /** A JCuda pointer to memory allocated here (JCuda makes one from an address only for subclasses). */
  static final class Address extends Pointer {
    private final long base; // what the allocator returned, before rounding up to a page

    private Address(long base, long address) {
      super(address);
      this.base = base;
    }

    long address() {
      return getNativePointer();
    }
  }
}
