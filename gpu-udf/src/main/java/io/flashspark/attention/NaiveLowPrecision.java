package io.flashspark.attention;

import java.util.List;

/**
 * Naive attention as a framework computes it in a 16-bit precision (the yardstick of the
 * FlashAttention test rule): inputs rounded to the precision, every score materialised in fp32,
 * softmax in fp32, probabilities rounded to the precision before P·V, fp32 accumulation, output
 * rounded to the precision. Its error against {@link ReferenceAttention} bounds what a
 * low-precision kernel may be expected to do.
 */
public final class NaiveLowPrecision {
  private NaiveLowPrecision() {}

  public static Partial forward(QueryBlock q, List<KeyValueBlock> kvs, AttentionSpec spec) {
    Precision precision = spec.precision() == null ? Precision.BF16 : spec.precision();
    int dim = q.dim();
    float scale = (float) spec.scaleFor(dim);
    int keys = 0;
    for (KeyValueBlock kv : kvs) {
      keys += kv.rows();
    }
    Partial out = Partial.empty(q.rows(), dim);
    float[] scores = new float[keys];
    RoundedInputs rounded = new RoundedInputs(precision);
    float[] qr = rounded.q(q);
    for (int i = 0; i < q.rows(); i++) {
      float max = Float.NEGATIVE_INFINITY;
      int idx = 0;
      for (KeyValueBlock kv : kvs) {
        float[] kr = rounded.k(kv);
        for (int j = 0; j < kv.rows(); j++, idx++) {
          if (spec.causal() && kv.pos()[j] > q.pos()[i]) {
            scores[idx] = Float.NEGATIVE_INFINITY;
            continue;
          }
          float dot = 0;
          for (int c = 0; c < dim; c++) {
            dot += qr[i * dim + c] * kr[j * dim + c];
          }
          scores[idx] = dot * scale;
          max = Math.max(max, scores[idx]);
        }
      }
      if (max == Float.NEGATIVE_INFINITY) {
        continue;
      }
      float sum = 0;
      float[] acc = new float[dim];
      idx = 0;
      for (KeyValueBlock kv : kvs) {
        float[] vr = rounded.v(kv);
        for (int j = 0; j < kv.rows(); j++, idx++) {
          float p = (float) Math.exp(scores[idx] - max);
          sum += p;
          float pr = precision.round(p);
          for (int c = 0; c < dim; c++) {
            acc[c] += pr * vr[j * dim + c];
          }
        }
      }
      for (int c = 0; c < dim; c++) {
        out.o()[i * dim + c] = precision.round(acc[c] / sum);
      }
      out.m()[i] = max;
      out.l()[i] = sum;
    }
    return out;
  }
}
