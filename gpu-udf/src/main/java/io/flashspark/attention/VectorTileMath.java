package io.flashspark.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link TileMath} with explicit SIMD (jdk.incubator.vector). Scores and P·V are register-blocked
 * four query rows at a time, so each vector of keys (or of v) loaded from memory feeds four
 * fused multiply-adds; exp is the Vector API's intrinsic. Ragged ends use masked lanes.
 */
final class VectorTileMath implements TileMath {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int L = F.length();

  @Override public void scores(float[] qs, int rows, int dim, float[] kT, int kStride, int k0, int n, float[] s,
      int sStride) {
    int i = 0;
    for (; i + 4 <= rows; i += 4) {
      int q0 = i * dim;
      int q1 = q0 + dim;
      int q2 = q1 + dim;
      int q3 = q2 + dim;
      for (int j = 0; j < n; j += L) {
        VectorMask<Float> m = j + L <= n ? null : F.indexInRange(j, n);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int k = k0 + j;
        for (int c = 0; c < dim; c++, k += kStride) {
          FloatVector kv = load(kT, k, m);
          a0 = kv.fma(FloatVector.broadcast(F, qs[q0 + c]), a0);
          a1 = kv.fma(FloatVector.broadcast(F, qs[q1 + c]), a1);
          a2 = kv.fma(FloatVector.broadcast(F, qs[q2 + c]), a2);
          a3 = kv.fma(FloatVector.broadcast(F, qs[q3 + c]), a3);
        }
        store(a0, s, i * sStride + j, m);
        store(a1, s, (i + 1) * sStride + j, m);
        store(a2, s, (i + 2) * sStride + j, m);
        store(a3, s, (i + 3) * sStride + j, m);
      }
    }
    for (; i < rows; i++) {
      int q0 = i * dim;
      for (int j = 0; j < n; j += L) {
        VectorMask<Float> m = j + L <= n ? null : F.indexInRange(j, n);
        FloatVector a0 = FloatVector.zero(F);
        int k = k0 + j;
        for (int c = 0; c < dim; c++, k += kStride) {
          a0 = load(kT, k, m).fma(FloatVector.broadcast(F, qs[q0 + c]), a0);
        }
        store(a0, s, i * sStride + j, m);
      }
    }
  }

  /** Full-width load, or masked on a ragged end ({@code m != null}); m is loop-invariant where used. */
  private static FloatVector load(float[] a, int off, VectorMask<Float> m) {
    return m == null ? FloatVector.fromArray(F, a, off) : FloatVector.fromArray(F, a, off, m);
  }

  private static void store(FloatVector x, float[] a, int off, VectorMask<Float> m) {
    if (m == null) {
      x.intoArray(a, off);
    } else {
      x.intoArray(a, off, m);
    }
  }

  @Override public float max(float[] x, int off, int n) {
    FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
    for (int j = 0; j < n; j += L) {
      VectorMask<Float> mask = F.indexInRange(j, n);
      m = m.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, x, off + j, mask), mask);
    }
    return m.reduceLanes(VectorOperators.MAX);
  }

  @Override public float expShifted(float[] x, int off, int n, float shift) {
    FloatVector sum = FloatVector.zero(F);
    for (int j = 0; j < n; j += L) {
      VectorMask<Float> mask = F.indexInRange(j, n);
      FloatVector e = FloatVector.fromArray(F, x, off + j, mask).sub(shift).lanewise(VectorOperators.EXP);
      e.intoArray(x, off + j, mask);
      sum = sum.add(e, mask);
    }
    return sum.reduceLanes(VectorOperators.ADD);
  }

  @Override public void scale(float[] x, int off, int n, float factor) {
    for (int j = 0; j < n; j += L) {
      VectorMask<Float> mask = F.indexInRange(j, n);
      FloatVector.fromArray(F, x, off + j, mask).mul(factor).intoArray(x, off + j, mask);
    }
  }

  @Override public void accumulate(float[] acc, int rows, int dim, float[] p, int pStride, int n, float[] v, int v0) {
    int i = 0;
    for (; i + 4 <= rows; i += 4) {
      int p0 = i * pStride;
      int p1 = p0 + pStride;
      int p2 = p1 + pStride;
      int p3 = p2 + pStride;
      for (int c = 0; c < dim; c += L) {
        VectorMask<Float> m = c + L <= dim ? null : F.indexInRange(c, dim);
        int o0 = i * dim + c;
        FloatVector a0 = load(acc, o0, m);
        FloatVector a1 = load(acc, o0 + dim, m);
        FloatVector a2 = load(acc, o0 + 2 * dim, m);
        FloatVector a3 = load(acc, o0 + 3 * dim, m);
        int vi = v0 * dim + c;
        for (int j = 0; j < n; j++, vi += dim) {
          FloatVector vv = load(v, vi, m);
          a0 = vv.fma(FloatVector.broadcast(F, p[p0 + j]), a0);
          a1 = vv.fma(FloatVector.broadcast(F, p[p1 + j]), a1);
          a2 = vv.fma(FloatVector.broadcast(F, p[p2 + j]), a2);
          a3 = vv.fma(FloatVector.broadcast(F, p[p3 + j]), a3);
        }
        store(a0, acc, o0, m);
        store(a1, acc, o0 + dim, m);
        store(a2, acc, o0 + 2 * dim, m);
        store(a3, acc, o0 + 3 * dim, m);
      }
    }
    for (; i < rows; i++) {
      int p0 = i * pStride;
      for (int c = 0; c < dim; c += L) {
        VectorMask<Float> m = c + L <= dim ? null : F.indexInRange(c, dim);
        int o0 = i * dim + c;
        FloatVector a0 = load(acc, o0, m);
        int vi = v0 * dim + c;
        for (int j = 0; j < n; j++, vi += dim) {
          a0 = load(v, vi, m).fma(FloatVector.broadcast(F, p[p0 + j]), a0);
        }
        store(a0, acc, o0, m);
      }
    }
  }
}
