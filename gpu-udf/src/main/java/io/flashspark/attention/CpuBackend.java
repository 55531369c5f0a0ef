package io.flashspark.attention;

import java.util.List;

/** The pure-Java backend: {@link TiledAttention} on all cores. */
public final class CpuBackend implements AttentionBackend {
  public static final CpuBackend INSTANCE = new CpuBackend();

  private CpuBackend() {}

  @Override public String name() {
    return "cpu";
  }

  @Override public List<Partial> attend(
      List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec) {
    return TiledAttention.forwardAll(queries, kvs, spec);
  }
}
