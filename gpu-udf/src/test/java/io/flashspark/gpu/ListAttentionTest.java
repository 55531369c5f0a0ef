package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flashspark.attention.ListBatch;
import io.flashspark.attention.ListRows;
import io.flashspark.attention.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The list-layout kernel (the SQL function's columnar path) on the GPU against its CPU stand-in
 * {@link ListBatch#evaluate} (itself held to the float64 reference by ListBatchTest): same null rows,
 * same first problem, o within one float rounding, lse within 1e-12. Outputs are poisoned (NaN)
 * before each launch. Skipped where no GPU is usable.
 */
class ListAttentionTest {
  private final List<CUdeviceptr> allocated = new ArrayList<>();

  @BeforeEach
  void needsGpu() {
    assumeTrue(GpuBackend.getIfUsable(-1) != null, "SKIPPED: no usable GPU here ("
        + GpuBackend.whyUnusable(GpuBackend.defaultOrdinal()) + "); run on a GPU host, see README");
  }

  @AfterEach
  void free() {
    for (CUdeviceptr p : allocated) {
      cuMemFree(p);
    }
    allocated.clear();
  }

  /** A device pointer whose raw address can be read (JCuda keeps it protected), as cuDF hands them out. */
  private static final class Allocation extends CUdeviceptr {
    long address() {
      return getNativePointer() + getByteOffset();
    }
  }

  private long alloc(long bytes) {
    Allocation p = new Allocation();
    Cuda.check(cuMemAlloc(p, Math.max(bytes, 8)), "cuMemAlloc", "bytes", bytes);
    allocated.add(p);
    return p.address();
  }

  private long up(float[] x) {
    long a = alloc(4L * x.length);
    Cuda.check(cuMemcpyHtoD(ptr(a), Pointer.to(x), 4L * x.length), "cuMemcpyHtoD");
    return a;
  }

  private long up(int[] x) {
    if (x == null) {
      return 0;
    }
    long a = alloc(4L * x.length);
    Cuda.check(cuMemcpyHtoD(ptr(a), Pointer.to(x), 4L * x.length), "cuMemcpyHtoD");
    return a;
  }

  private long up(double[] x) {
    long a = alloc(8L * x.length);
    Cuda.check(cuMemcpyHtoD(ptr(a), Pointer.to(x), 8L * x.length), "cuMemcpyHtoD");
    return a;
  }

  private static CUdeviceptr ptr(long a) {
    return (CUdeviceptr) new CUdeviceptr().withByteOffset(a);
  }

  private ListAttention.DeviceVectors up(ListBatch.Vectors v) {
    return new ListAttention.DeviceVectors(up(v.data()), up(v.outer()), up(v.inner()), up(v.rowMask()),
        up(v.vectorMask()), up(v.valueMask()));
  }

  /** Runs the kernel on b; returns {o, lse, valid, outcome}. */
  private Object[] runOnGpu(ListBatch b) {
    ListAttention.DeviceBatch in = new ListAttention.DeviceBatch(b.rows, up(b.q), up(b.qOffsets), up(b.qRowMask),
        up(b.qValueMask), up(b.keys), up(b.values), up(b.scale), up(b.scaleMask), b.keys.inner().length - 1);
    long o = alloc(4L * b.q.length);
    long lse = alloc(8L * b.rows);
    Cuda.check(cuMemsetD32(ptr(o), Float.floatToRawIntBits(Float.NaN), Math.max(b.q.length, 1)), "cuMemsetD32");
    Cuda.check(cuMemsetD32(ptr(lse), 0x7ff80000, 2L * b.rows), "cuMemsetD32");
    long valid = alloc(ListAttention.validityBytes(b.rows));
    long scratch = alloc(ListAttention.scratchBytes(b.rows, in.keyVectors()));
    ListAttention.Outcome outcome = ListAttention.run(0, in, new ListAttention.DeviceOutput(o, lse, valid, scratch));
    float[] oh = new float[b.q.length];
    double[] lh = new double[b.rows];
    int[] vh = new int[(b.rows + 31) / 32];
    Cuda.check(cuMemcpyDtoH(Pointer.to(oh), ptr(o), 4L * oh.length), "cuMemcpyDtoH");
    Cuda.check(cuMemcpyDtoH(Pointer.to(lh), ptr(lse), 8L * lh.length), "cuMemcpyDtoH");
    Cuda.check(cuMemcpyDtoH(Pointer.to(vh), ptr(valid), 4L * vh.length), "cuMemcpyDtoH");
    return new Object[] {oh, lh, vh, outcome};
  }

  @Test
  void randomBatchesMatchTheStandIn() {
    SplittableRandom rnd = Seeds.fresh("ListAttentionTest");
    int[][] shapes = {{1, 40, 1, 3, 8}, {300, 200, 64, 128, 200}, {2000, 20, 16, 64, 128}, {5, 5000, 128, 64, 2}};
    for (int[] sh : shapes) {
      List<ListRows.Row> rows = ListRows.batch(rnd, sh[0], new int[] {sh[2], sh[3], sh[4]}, sh[1]);
      ListBatch b = ListRows.layout(rows);
      ListBatch.Result want = b.evaluate();
      Object[] got = runOnGpu(b);
      ListAttention.Outcome outcome = (ListAttention.Outcome) got[3];
      assertEquals(null, outcome.problem());
      assertEquals(want.nullRows(), outcome.nullRows(), "null rows");
      assertArrayEquals(want.valid(), (int[]) got[2], "validity");
      float[] o = (float[]) got[0];
      double[] lse = (double[]) got[1];
      double worstO = 0;
      double worstLse = 0;
      for (int r = 0; r < b.rows; r++) {
        if (want.isNull(r)) {
          continue;
        }
        for (int e = b.qOffsets[r]; e < b.qOffsets[r + 1]; e++) {
          double tol = Math.ulp(want.o()[e]) + 1e-30;
          assertTrue(Math.abs(o[e] - want.o()[e]) <= tol, "row " + r + " o " + o[e] + " vs " + want.o()[e]);
          worstO = Math.max(worstO, Math.abs(o[e] - want.o()[e]));
        }
        assertEquals(want.lse()[r], lse[r], 1e-12 * Math.max(1, Math.abs(want.lse()[r])), "row " + r + " lse");
        worstLse = Math.max(worstLse, Math.abs(lse[r] - want.lse()[r]));
      }
      System.out.printf("list attention rows=%d maxKeys=%d: max |o - cpu| %.3g, |lse - cpu| %.3g%n", sh[0], sh[1],
          worstO, worstLse);
    }
  }

  @Test
  void everyPlantedProblemIsReportedAsTheStandInReportsIt() {
    SplittableRandom rnd = Seeds.fresh("ListAttentionTest problems");
    for (ListRows.Plant plant : ListRows.Plant.values()) {
      List<ListRows.Row> rows = new ArrayList<>();
      for (int i = 0; i < 70; i++) {
        rows.add(ListRows.row(rnd, 33, 1 + rnd.nextInt(30)));
      }
      rows.set(41, ListRows.plant(rows.get(41), plant, 17));
      rows.set(66, ListRows.plant(rows.get(66), plant, 3));
      ListBatch b = ListRows.layout(rows);
      ListBatch.Problem want = b.evaluate().problem();
      ListAttention.Outcome got = (ListAttention.Outcome) runOnGpu(b)[3];
      assertEquals(want, got.problem(), plant.toString());
      assertEquals(plant == ListRows.Plant.NONE, want == null, plant.toString());
    }
  }
}
