package io.flashspark.attention.bench;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.Partial;
import io.flashspark.attention.QueryBlock;

/**
 * The benchmark's baseline: fp32 attention that materialises the whole N x M score matrix
 * (S = QK^T, softmax per row, O = PV), the way attention is written without tiling.
 */
public final class NaiveAttention {
  private NaiveAttention() {}

  public static Partial forward(QueryBlock q, KeyValueBlock kv, AttentionSpec spec) {
    int n = q.rows();
    int m = kv.rows();
    int d = q.dim();
    float scale = (float) spec.scaleFor(d);
    float[] s = new float[n * m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        float dot = 0;
        for (int c = 0; c < d; c++) {
          dot += q.q()[i * d + c] * kv.k()[j * d + c];
        }
        s[i * m + j] = spec.causal() && kv.pos()[j] > q.pos()[i] ? Float.NEGATIVE_INFINITY : dot * scale;
      }
    }
    Partial out = Partial.empty(n, d);
    for (int i = 0; i < n; i++) {
      float max = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < m; j++) {
        max = Math.max(max, s[i * m + j]);
      }
      if (max == Float.NEGATIVE_INFINITY) {
        continue;
      }
      float sum = 0;
      for (int j = 0; j < m; j++) {
        float p = (float) Math.exp(s[i * m + j] - max);
        s[i * m + j] = p;
        sum += p;
      }
      for (int j = 0; j < m; j++) {
        float p = s[i * m + j] / sum;
        for (int c = 0; c < d; c++) {
          out.o()[i * d + c] += p * kv.v()[j * d + c];
        }
      }
      out.m()[i] = max;
      out.l()[i] = sum;
    }
    return out;
  }
}
