package io.flashspark.attention;

import java.util.SplittableRandom;

/** Standard normal samples (Box-Muller) for synthetic inputs, benchmarks and tests. */
public final class Gaussian {
  private Gaussian() {}

  public static double next(SplittableRandom rnd) {
    double u = rnd.nextDouble();
    double v = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v);
  }

  /** {@code n} samples scaled by {@code sigma}. */
  public static float[] floats(SplittableRandom rnd, int n, double sigma) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (next(rnd) * sigma);
    }
    return out;
  }
}
