package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import jcuda.driver.CUdeviceptr;

/**
 * Device buffers reused across tasks: sizes rounded up to a power of two (at least 1 MiB; above
 * 1 GiB to a multiple of 256 MiB, so a 9 GiB launch does not take 16), freed lists per size. cuMemAlloc/cuMemFree synchronise the device, so the job's steady state makes none.
 * If an allocation fails, the cached buffers are released and it is tried once more.
 */
final class DeviceMemoryPool {
  private static final long MIN_BYTES = 1L << 20;
  private final Map<Long, ArrayDeque<CUdeviceptr>> free = new HashMap<>();
  private final Map<CUdeviceptr, Long> sizes = new java.util.IdentityHashMap<>();
  private long cachedBytes;

  static long sizeClass(long bytes) {
    if (bytes > (1L << 30)) {
      return ((bytes + (256L << 20) - 1) >> 28) << 28;
    }
    long size = MIN_BYTES;
    while (size < bytes) {
      size <<= 1;
    }
    return size;
  }

  synchronized CUdeviceptr acquire(long bytes) {
    long size = sizeClass(bytes);
    ArrayDeque<CUdeviceptr> list = free.get(size);
    if (list != null && !list.isEmpty()) {
      cachedBytes -= size;
      return list.pop();
    }
    CUdeviceptr ptr = new CUdeviceptr();
    int rc = cuMemAlloc(ptr, size);
    if (rc != 0) {
      releaseCached();
      rc = cuMemAlloc(ptr, size);
    }
    Cuda.check(rc, "cuMemAlloc", "bytes", size);
    sizes.put(ptr, size);
    return ptr;
  }

  /** The size class of a buffer this pool handed out. */
  synchronized long sizeOf(CUdeviceptr ptr) {
    return sizes.get(ptr);
  }

  synchronized void release(CUdeviceptr ptr) {
    if (ptr == null) {
      return;
    }
    long size = sizes.get(ptr);
    free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
    cachedBytes += size;
  }

  synchronized void releaseCached() {
    for (ArrayDeque<CUdeviceptr> list : free.values()) {
      for (CUdeviceptr p : list) {
        cuMemFree(p);
        sizes.remove(p);
      }
      list.clear();
    }
    cachedBytes = 0;
  }

  synchronized long cachedBytes() {
    return cachedBytes;
  }
}
