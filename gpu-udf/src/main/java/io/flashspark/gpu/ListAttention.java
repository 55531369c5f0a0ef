package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import io.flashspark.attention.ListBatch;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * {@code flash_attention} over a batch of rows already on the GPU in the Arrow / cuDF list layout
 * ({@link ListBatch} draws it): one launch of {@code flashspark_list_attention}
 * (kernels/src/list_attention.cu) on device addresses the caller owns, e.g. a RAPIDS columnar UDF's
 * input columns and the outputs it allocated through RMM. Nothing but 16 bytes of outcome (and, for a
 * bad batch, the few values its message names) comes back to the host.
 */
public final class ListAttention {
  static final String KERNEL = "flashspark_list_attention";

  private ListAttention() {}

  /** Device addresses of one list-of-vectors argument (0 for a mask the column does not have). */
  public record DeviceVectors(long data, long outer, long inner, long rowMask, long vectorMask, long valueMask) {}

  /**
   * A batch's inputs on the device: {@code keyVectors} is the number of vectors in the keys column
   * (its child's row count), which sizes the scratch.
   */
  public record DeviceBatch(int rows, long q, long qOffsets, long qRowMask, long qValueMask, DeviceVectors keys,
      DeviceVectors values, long scale, long scaleMask, long keyVectors) {}

  /** Where the results go: o (floats at q's offsets), lse (a double per row), valid (a bitmask). */
  public record DeviceOutput(long o, long lse, long valid, long scratch) {}

  /** Null rows, and the batch's first problem (null when it has none). */
  public record Outcome(long nullRows, ListBatch.Problem problem) {}

  /** Bytes of device scratch a batch needs: a problem rank per row, a score per key vector, 2 counters. */
  public static long scratchBytes(int rows, long keyVectors) {
    return 8L * rows + 8L * keyVectors + 16;
  }

  /** Bytes of the output validity mask cuDF expects for {@code rows} rows (64-byte padded words, never none). */
  public static long validityBytes(int rows) {
    return Math.max(1, ((long) rows + 511) / 512) * 64;
  }

  /**
   * Runs the kernel on device {@code ordinal} (its primary context, shared with RAPIDS) and waits for
   * it. The caller has finished writing the inputs (synchronised its own stream) and keeps every
   * buffer alive until this returns.
   */
  public static Outcome run(int ordinal, DeviceBatch in, DeviceOutput out) {
    GpuDevice device = GpuDevice.open(ordinal);
    device.makeCurrent();
    GpuDevice.Stream s = device.acquireStream();
    try {
      if (in.rows() == 0) {
        return new Outcome(0, null);
      }
      long rankAt = out.scratch();
      long scoresAt = rankAt + 8L * in.rows();
      long countersAt = scoresAt + 8L * in.keyVectors(); // first bad row (int64), null rows (uint64)
      Cuda.check(cuMemsetD8Async(ptr(out.valid()), (byte) 0, validityBytes(in.rows()), s.stream), "cuMemsetD8Async");
      Cuda.check(cuMemsetD32Async(ptr(countersAt), -1, 2, s.stream), "cuMemsetD32Async");
      Cuda.check(cuMemsetD32Async(ptr(countersAt + 4), 0x7fffffff, 1, s.stream), "cuMemsetD32Async");
      Cuda.check(cuMemsetD32Async(ptr(countersAt + 8), 0, 2, s.stream), "cuMemsetD32Async");
      ListAttention.DeviceVectors k = in.keys();
      ListAttention.DeviceVectors v = in.values();
      Pointer params = Pointer.to(Pointer.to(new int[] {in.rows()}), a(in.q()), a(in.qOffsets()), a(in.qRowMask()),
          a(in.qValueMask()), a(k.data()), a(k.outer()), a(k.inner()), a(k.rowMask()), a(k.vectorMask()),
          a(k.valueMask()), a(v.data()), a(v.outer()), a(v.inner()), a(v.rowMask()), a(v.vectorMask()),
          a(v.valueMask()), a(in.scale()), a(in.scaleMask()), a(out.o()), a(out.lse()), a(out.valid()), a(scoresAt),
          a(rankAt), a(countersAt), a(countersAt + 8));
      int threads = device.threads(KERNEL);
      Cuda.check(cuLaunchKernel(device.function(KERNEL), in.rows(), 1, 1, threads, 1, 1, 0, s.stream, params, null),
          "cuLaunchKernel", "kernel", KERNEL, "rows", in.rows());
      Cuda.check(cuStreamSynchronize(s.stream), "cuStreamSynchronize", "kernel", KERNEL, "rows", in.rows());
      long[] counters = new long[2];
      Cuda.check(cuMemcpyDtoH(Pointer.to(counters), ptr(countersAt), 16), "cuMemcpyDtoH");
      if (counters[0] == Long.MAX_VALUE) {
        return new Outcome(counters[1], null);
      }
      long row = counters[0];
      long[] rank = new long[1];
      Cuda.check(cuMemcpyDtoH(Pointer.to(rank), ptr(rankAt + 8 * row), 8), "cuMemcpyDtoH");
      return new Outcome(counters[1], ListBatch.problem(row, rank[0], lookup(in)));
    } catch (GpuException e) {
      if (e.sticky()) {
        device.discard();
      }
      throw e;
    } finally {
      device.releaseStream(s);
    }
  }

  /** Reads a bad row's facts from the device, a few bytes at a time. */
  private static ListBatch.Lookup lookup(DeviceBatch in) {
    return new ListBatch.Lookup() {
      @Override public int qOffset(long row) {
        return i32(in.qOffsets() + 4 * row);
      }

      @Override public int outer(int argument, long row) {
        return i32(vectors(argument).outer() + 4 * row);
      }

      @Override public int inner(int argument, long vector) {
        return i32(vectors(argument).inner() + 4 * vector);
      }

      @Override public Float value(int argument, long element) {
        long data = argument == 1 ? in.q() : vectors(argument).data();
        long mask = argument == 1 ? in.qValueMask() : vectors(argument).valueMask();
        if (mask != 0 && ((i32(mask + 4 * (element >> 5)) >>> (element & 31)) & 1) == 0) {
          return null;
        }
        return Float.intBitsToFloat(i32(data + 4 * element));
      }

      @Override public double scale(long row) {
        long[] bits = new long[1];
        Cuda.check(cuMemcpyDtoH(Pointer.to(bits), ptr(in.scale() + 8 * row), 8), "cuMemcpyDtoH");
        return Double.longBitsToDouble(bits[0]);
      }

      private DeviceVectors vectors(int argument) {
        return argument == 2 ? in.keys() : in.values();
      }
    };
  }

  private static int i32(long address) {
    int[] x = new int[1];
    Cuda.check(cuMemcpyDtoH(Pointer.to(x), ptr(address), 4), "cuMemcpyDtoH");
    return x[0];
  }

  private static CUdeviceptr ptr(long address) {
    return (CUdeviceptr) new CUdeviceptr().withByteOffset(address);
  }

  /** A kernel parameter holding a raw device address (0 stays a null pointer). */
  private static Pointer a(long address) {
    return Pointer.to(new long[] {address});
  }
}
