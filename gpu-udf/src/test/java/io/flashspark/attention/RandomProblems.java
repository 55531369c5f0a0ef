package io.flashspark.attention;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Fresh random inputs for the tests, and the comparison against the float64 reference. */
final class RandomProblems {
  private RandomProblems() {}

  static float[] gaussian(SplittableRandom rnd, int n, double sigma) {
    return Gaussian.floats(rnd, n, sigma);
  }

  static long[] positions(long start, int n) {
    long[] pos = new long[n];
    for (int i = 0; i < n; i++) {
      pos[i] = start + i;
    }
    return pos;
  }

  static QueryBlock queries(SplittableRandom rnd, int rows, int dim, long pos0, double sigma) {
    return new QueryBlock(rows, dim, gaussian(rnd, rows * dim, sigma), positions(pos0, rows));
  }

  static KeyValueBlock keysValues(SplittableRandom rnd, int rows, int dim, long pos0, double sigma) {
    return new KeyValueBlock(rows, dim, gaussian(rnd, rows * dim, sigma), gaussian(rnd, rows * dim, 1),
        positions(pos0, rows));
  }

  /** The same keys cut at the given row indices into consecutive blocks. */
  static List<KeyValueBlock> cut(KeyValueBlock kv, int[] cuts) {
    List<KeyValueBlock> out = new ArrayList<>();
    int start = 0;
    int dim = kv.dim();
    for (int i = 0; i <= cuts.length; i++) {
      int end = i < cuts.length ? cuts[i] : kv.rows();
      int n = end - start;
      float[] k = new float[n * dim];
      float[] v = new float[n * dim];
      long[] pos = new long[n];
      System.arraycopy(kv.k(), start * dim, k, 0, n * dim);
      System.arraycopy(kv.v(), start * dim, v, 0, n * dim);
      System.arraycopy(kv.pos(), start, pos, 0, n);
      out.add(new KeyValueBlock(n, dim, k, v, pos));
      start = end;
    }
    return out;
  }

  /** Largest |o - ref| over every element, and largest |lse - ref| over rows (inf-aware). */
  static double[] maxErrors(Partial p, ReferenceAttention.Result ref) {
    double oErr = 0;
    double lseErr = 0;
    for (int r = 0; r < p.rows(); r++) {
      double lse = p.lse(r);
      double refLse = ref.lse()[r];
      if (Double.isInfinite(refLse) || Double.isInfinite(lse)) {
        lseErr = Math.max(lseErr, lse == refLse ? 0 : Double.POSITIVE_INFINITY);
      } else {
        lseErr = Math.max(lseErr, Math.abs(lse - refLse));
      }
      float[] row = p.outputRow(r);
      for (int c = 0; c < p.dim(); c++) {
        double e = Math.abs(row[c] - ref.o(r, c));
        oErr = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(oErr, e);
      }
    }
    return new double[] {oErr, lseErr};
  }
}
