package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PartialTest {
  private static final SplittableRandom SEEDS = Seeds.fresh("PartialTest");

  /** Partials of one query block over three disjoint key sets, some rows masked in some. */
  private static Partial[] threeParts(SplittableRandom rnd, int n, int d) {
    QueryBlock q = RandomProblems.queries(rnd, n, d, 0, 1);
    AttentionSpec causal = AttentionSpec.defaults().withCausal(true);
    Partial[] parts = new Partial[3];
    for (int i = 0; i < 3; i++) {
      // key positions from 0, n/3, 2n/3: later parts leave the first rows empty
      parts[i] = TiledAttention.forward(q, List.of(RandomProblems.keysValues(rnd, 50, d, i * n / 3L, 1)), causal);
    }
    return parts;
  }

  private static void assertClose(Partial a, Partial b, double tol) {
    for (int r = 0; r < a.rows(); r++) {
      assertEquals(a.isEmptyRow(r), b.isEmptyRow(r), "emptiness of row " + r);
      if (!a.isEmptyRow(r)) {
        assertEquals(a.lse(r), b.lse(r), tol, "lse row " + r);
      }
      float[] x = a.outputRow(r);
      float[] y = b.outputRow(r);
      for (int c = 0; c < x.length; c++) {
        assertEquals(x[c], y[c], tol, "o row " + r + " col " + c);
      }
    }
  }

  @Test
  void mergeIsAssociativeAndCommutative() {
    for (int trial = 0; trial < 10; trial++) {
      SplittableRandom rnd = SEEDS.split();
      Partial[] p = threeParts(rnd, 60, 1 + rnd.nextInt(64));
      Partial left = Partial.merged(Partial.merged(p[0], p[1]), p[2]);
      Partial right = Partial.merged(p[0], Partial.merged(p[1], p[2]));
      Partial swapped = Partial.merged(Partial.merged(p[2], p[0]), p[1]);
      assertClose(left, right, 1e-6);
      assertClose(left, swapped, 1e-6);
    }
  }

  @Test
  void mergeMatchesOneSweepOverAllKeys() {
    SplittableRandom rnd = SEEDS.split();
    QueryBlock q = RandomProblems.queries(rnd, 40, 32, 0, 1);
    KeyValueBlock a = RandomProblems.keysValues(rnd, 30, 32, 0, 1);
    KeyValueBlock b = RandomProblems.keysValues(rnd, 30, 32, 30, 1);
    AttentionSpec causal = AttentionSpec.defaults().withCausal(true);
    Partial merged = Partial.merged(TiledAttention.forward(q, List.of(a), causal),
        TiledAttention.forward(q, List.of(b), causal));
    double[] err = RandomProblems.maxErrors(merged, ReferenceAttention.forward(q, List.of(a, b), causal));
    assertTrue(err[0] < 1e-5 && err[1] < 1e-5, "errors " + err[0] + ", " + err[1]);
  }

  @Test
  void emptyRowsMergeWithoutNaN() {
    Partial empty = Partial.empty(3, 2);
    Partial merged = Partial.merged(empty, Partial.empty(3, 2));
    for (int r = 0; r < 3; r++) {
      assertTrue(merged.isEmptyRow(r));
      assertEquals(Double.NEGATIVE_INFINITY, merged.lse(r));
      assertArrayEquals(new float[2], merged.outputRow(r));
    }
    Partial full = new Partial(3, 2, new float[] {1, 2, 3, 4, 5, 6}, new float[] {0.5f, -1f, 2f},
        new float[] {2f, 1f, 3f});
    for (Partial p : List.of(Partial.merged(empty, full), Partial.merged(full, empty))) {
      assertArrayEquals(full.o(), p.o());
      assertArrayEquals(full.m(), p.m());
      assertArrayEquals(full.l(), p.l());
    }
  }

  @Test
  void mergeOfPartialsFarApartKeepsTheDominantOne() {
    Partial small = new Partial(1, 1, new float[] {1f}, new float[] {-1000f}, new float[] {1f});
    Partial big = new Partial(1, 1, new float[] {7f}, new float[] {1000f}, new float[] {1f});
    Partial merged = Partial.merged(small, big);
    assertEquals(7f, merged.o()[0]);
    assertEquals(1000.0, merged.lse(0), 1e-9);
  }

  @Test
  void shapeMismatchIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> Partial.empty(2, 3).mergeFrom(Partial.empty(3, 3)));
    assertThrows(IllegalArgumentException.class, () -> new Partial(2, 2, new float[3], new float[2], new float[2]));
  }
}
