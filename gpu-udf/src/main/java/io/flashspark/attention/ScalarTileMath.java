package io.flashspark.attention;

import java.util.Arrays;

/** {@link TileMath} in plain loops: runs on any JVM. */
final class ScalarTileMath implements TileMath {
  @Override public void scores(float[] qs, int rows, int dim, float[] kT, int kStride, int k0, int n, float[] s,
      int sStride) {
    for (int i = 0; i < rows; i++) {
      int sBase = i * sStride;
      Arrays.fill(s, sBase, sBase + n, 0f);
      for (int c = 0; c < dim; c++) {
        float qv = qs[i * dim + c];
        int kBase = c * kStride + k0;
        for (int j = 0; j < n; j++) {
          s[sBase + j] += qv * kT[kBase + j];
        }
      }
    }
  }

  @Override public float max(float[] x, int off, int n) {
    float m = Float.NEGATIVE_INFINITY;
    for (int j = off; j < off + n; j++) {
      m = Math.max(m, x[j]);
    }
    return m;
  }

  @Override public float expShifted(float[] x, int off, int n, float shift) {
    float sum = 0f;
    for (int j = off; j < off + n; j++) {
      x[j] = (float) Math.exp(x[j] - shift);
      sum += x[j];
    }
    return sum;
  }

  @Override public void scale(float[] x, int off, int n, float factor) {
    for (int j = off; j < off + n; j++) {
      x[j] *= factor;
    }
  }

  @Override public void accumulate(float[] acc, int rows, int dim, float[] p, int pStride, int n, float[] v, int v0) {
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < n; j++) {
        float pj = p[i * pStride + j];
        if (pj == 0f) {
          continue;
        }
        int vBase = (v0 + j) * dim;
        for (int c = 0; c < dim; c++) {
          acc[i * dim + c] += pj * v[vBase + c];
        }
      }
    }
  }
}
