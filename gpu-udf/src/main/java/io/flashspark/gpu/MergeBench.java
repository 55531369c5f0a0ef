package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jcuda.driver.CUdeviceptr;

/**
 * Merge-kernel bandwidth against the device's own copy bandwidth, both timed with CUDA events:
 * bytes read plus bytes written over kernel time. Run on a GPU host (see tools/gpu-host/run.sh).
 */
public final class MergeBench {
  private MergeBench() {}

  public static void main(String[] args) {
    GpuBackend gpu = GpuBackend.get();
    GpuDevice device = GpuDevice.open(GpuBackend.defaultOrdinal());
    int rows = 1 << 18; // 8 partials of 256k rows x d=128: 1.1 GB staged
    int d = 128;
    System.out.println("device " + device.name);
    System.out.printf("%-28s %10s %10s%n", "what", "ms", "GB/s");
    for (int parts : new int[] {2, 4, 8}) {
      SplittableRandom rnd = new SplittableRandom();
      List<Partial> list = new ArrayList<>();
      for (int p = 0; p < parts; p++) {
        float[] o = new float[rows * d];
        float[] m = new float[rows];
        float[] l = new float[rows];
        for (int i = 0; i < o.length; i++) {
          o[i] = (float) rnd.nextDouble();
        }
        for (int r = 0; r < rows; r++) {
          m[r] = (float) (rnd.nextDouble() * 10);
          l[r] = (float) (1 + rnd.nextDouble());
        }
        list.add(new Partial(rows, d, o, m, l));
      }
      float[] ms = new float[1];
      float best = Float.MAX_VALUE;
      for (int rep = 0; rep < 5; rep++) {
        gpu.mergeOnDevice(list, ms);
        best = Math.min(best, ms[0]);
      }
      double bytes = (parts + 1.0) * rows * (d + 2) * 4;
      System.out.printf("%-28s %10.3f %10.1f%n", "merge " + parts + " partials x 256k rows", best, bytes / best / 1e6);
    }
    device.makeCurrent();
    long bytes = 1L << 30;
    CUdeviceptr a = device.pool.acquire(bytes);
    CUdeviceptr b = device.pool.acquire(bytes);
    GpuDevice.Stream s = device.acquireStream();
    float[] ms = new float[1];
    float best = Float.MAX_VALUE;
    for (int rep = 0; rep < 5; rep++) {
      Cuda.check(cuEventRecord(s.start, s.stream), "cuEventRecord");
      Cuda.check(cuMemcpyDtoDAsync(b, a, bytes, s.stream), "cuMemcpyDtoDAsync", "bytes", bytes);
      Cuda.check(cuEventRecord(s.stop, s.stream), "cuEventRecord");
      Cuda.check(cuStreamSynchronize(s.stream), "cuStreamSynchronize");
      Cuda.check(cuEventElapsedTime(ms, s.start, s.stop), "cuEventElapsedTime");
      best = Math.min(best, ms[0]);
    }
    System.out.printf("%-28s %10.3f %10.1f%n", "device copy 1 GiB", best, 2.0 * bytes / best / 1e6);
    device.releaseStream(s);
    device.pool.release(a);
    device.pool.release(b);
  }
}
