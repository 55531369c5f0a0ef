package io.flashspark.attention;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The inputs of one reference computation as its precision stores them, each value rounded once
 * per call rather than once per use (the references do n·m·d multiply-adds; rounding inside the
 * loop made a 4k x 4k check take minutes). Arrays that rounding would not change are used as
 * they are: fp32, and blocks that arrived packed in the precision itself.
 */
final class RoundedInputs {
  private final Precision precision;
  private final Map<KeyValueBlock, float[][]> keysAndValues = new IdentityHashMap<>();

  RoundedInputs(Precision precision) {
    this.precision = precision;
  }

  float[] q(QueryBlock q) {
    return exact(q.packed()) ? q.q() : precision.roundAll(q.q());
  }

  float[] k(KeyValueBlock kv) {
    return rounded(kv)[0];
  }

  float[] v(KeyValueBlock kv) {
    return rounded(kv)[1];
  }

  private float[][] rounded(KeyValueBlock kv) {
    return keysAndValues.computeIfAbsent(kv, b -> exact(b.packed()) ? new float[][] {b.k(), b.v()}
        : new float[][] {precision.roundAll(b.k()), precision.roundAll(b.v())});
  }

  private boolean exact(PackedRows packed) {
    return packed != null && packed.encoding() == precision;
  }
}
