package io.flashspark.attention;

import java.util.List;

/** The pure-Java backend: {@link TiledAttention} on all cores. */
public final class CpuBackend implements AttentionBackend {
  public static final CpuBackend INSTANCE = new CpuBackend();

  private static final ThreadLocal<long[]> LAST_NANOS = ThreadLocal.withInitial(() -> new long[1]);

  private CpuBackend() {}

  @Override public String name() {
    return "cpu";
  }

  @Override public List<Partial> attend(
      List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec) {
    long start = System.nanoTime();
    List<Partial> out = TiledAttention.forwardAll(queries, kvs, spec);
    LAST_NANOS.get()[0] = System.nanoTime() - start;
    return out;
  }

  /** About 2.7e11 FLOP (4 s on two cores at 70 GFLOP/s): progress every few seconds, negligible per-call cost. */
  @Override public long pairsPerCall(int dim) {
    return (1L << 36) / Math.max(1, dim);
  }

  /** On the CPU the whole call is the kernel. */
  @Override public long lastKernelNanos() {
    return LAST_NANOS.get()[0];
  }
}
