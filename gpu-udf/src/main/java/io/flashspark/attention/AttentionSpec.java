package io.flashspark.attention;

import java.io.Serializable;

/**
 * What to compute, independent of the data: softmax scale, causal masking and the precision the
 * inputs are rounded to before the products (fp32 accumulation always).
 *
 * @param scale softmax scale; {@code NaN} means the default {@code 1/sqrt(dim)}
 * @param causal key at position p is visible to a query at position t only when p <= t
 * @param precision input precision of q, k and v
 */
public record AttentionSpec(double scale, boolean causal, Precision precision)
    implements Serializable {

  public static AttentionSpec defaults() {
    return new AttentionSpec(Double.NaN, false, Precision.FP32);
  }

  public double scaleFor(int dim) {
    return Double.isNaN(scale) ? 1.0 / Math.sqrt(dim) : scale;
  }

  public AttentionSpec withCausal(boolean causal) {
    return new AttentionSpec(scale, causal, precision);
  }

  public AttentionSpec withPrecision(Precision precision) {
    return new AttentionSpec(scale, causal, precision);
  }

  public AttentionSpec withScale(double scale) {
    return new AttentionSpec(scale, causal, precision);
  }
}
