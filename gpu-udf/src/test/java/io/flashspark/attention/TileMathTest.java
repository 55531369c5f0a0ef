package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The SIMD inner loops against the plain ones, on ragged shapes (rows not a multiple of 4, etc.). */
class TileMathTest {
  private final TileMath scalar = new ScalarTileMath();
  private final TileMath fast = TileMath.best();

  private static float[] random(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (rnd.nextDouble() * 2 - 1);
    }
    return x;
  }

  @Test
  void theTestJvmRunsTheVectorPath() {
    // surefire passes --add-modules=jdk.incubator.vector (root pom), as Spark's launcher does
    assertEquals("VectorTileMath", fast.getClass().getSimpleName());
  }

  @Test
  void vectorLoopsMatchScalarLoops() {
    SplittableRandom rnd = Seeds.fresh("TileMathTest");
    for (int trial = 0; trial < 200; trial++) {
      int rows = 1 + rnd.nextInt(37);
      int dim = 1 + rnd.nextInt(140);
      int n = 1 + rnd.nextInt(70);
      int kStride = n + rnd.nextInt(50);
      int k0 = rnd.nextInt(kStride - n + 1);
      int sStride = n + rnd.nextInt(20);
      float[] qs = random(rnd, rows * dim);
      float[] kT = random(rnd, dim * kStride);
      float[] s1 = new float[rows * sStride];
      float[] s2 = new float[rows * sStride];
      scalar.scores(qs, rows, dim, kT, kStride, k0, n, s1, sStride);
      fast.scores(qs, rows, dim, kT, kStride, k0, n, s2, sStride);
      for (int i = 0; i < s1.length; i++) {
        assertEquals(s1[i], s2[i], 1e-4f, "scores trial " + trial);
      }
      assertEquals(scalar.max(s1, 0, n), fast.max(s1, 0, n), "max");
      float[] e1 = s1.clone();
      float[] e2 = s1.clone();
      float sum1 = scalar.expShifted(e1, 0, n, 2f);
      float sum2 = fast.expShifted(e2, 0, n, 2f);
      assertEquals(sum1, sum2, 1e-5f * Math.max(1f, Math.abs(sum1)), "exp sum");
      for (int j = 0; j < n; j++) {
        assertEquals(e1[j], e2[j], 2e-6f * Math.max(1f, e1[j]), "exp");
      }
      int v0 = rnd.nextInt(5);
      float[] v = random(rnd, (v0 + n) * dim);
      float[] p = random(rnd, rows * sStride);
      float[] a1 = random(rnd, rows * dim);
      float[] a2 = a1.clone();
      scalar.accumulate(a1, rows, dim, p, sStride, n, v, v0);
      fast.accumulate(a2, rows, dim, p, sStride, n, v, v0);
      for (int i = 0; i < a1.length; i++) {
        assertEquals(a1[i], a2[i], 1e-4f, "accumulate trial " + trial);
      }
      scalar.scale(a1, 0, a1.length, 0.5f);
      fast.scale(a2, 0, a2.length, 0.5f);
      for (int i = 0; i < a1.length; i++) {
        assertEquals(a1[i], a2[i], 1e-4f);
      }
    }
  }
}
