package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The tiled CPU forward against the float64 reference. Tolerance (the numerical contract, see
 * docs/numerics.md): fp32 inputs give |o - ref| <= 1e-5 * (1 + max|logit|) per element (o is a
 * convex combination of v rows with |v| ~ 1) and the same bound on lse.
 */
class TiledAttentionTest {
  private static final SplittableRandom SEEDS = Seeds.fresh("TiledAttentionTest");

  static double tolerance(double maxLogit) {
    return 1e-5 * (1 + maxLogit);
  }

  private static void assertMatchesReference(QueryBlock q, List<KeyValueBlock> kvs, AttentionSpec spec,
      double sigma, String label) {
    Partial tiled = TiledAttention.forward(q, kvs, spec);
    ReferenceAttention.Result ref = ReferenceAttention.forward(q, kvs, spec);
    double[] err = RandomProblems.maxErrors(tiled, ref);
    double maxLogit = sigma * sigma * Math.sqrt(q.dim()) * 6; // |q.k| * scale, loose bound
    double tol = tolerance(maxLogit);
    assertTrue(err[0] <= tol, label + ": max |o - ref| = " + err[0] + " > " + tol);
    assertTrue(err[1] <= tol, label + ": max |lse - ref| = " + err[1] + " > " + tol);
  }

  @ParameterizedTest(name = "n={0} m={1} d={2} causal={3}")
  @CsvSource({
      "1,1,1,false", "1,1,1,true", "1,97,64,false", "97,1,64,true", "97,97,64,true",
      "97,1025,32,false", "1025,97,16,true", "33,65,128,true", "64,64,256,false", "130,300,256,true",
      "1025,1025,64,true", "5,7,3,false", "200,130,1,true"})
  void matchesReference(int n, int m, int d, boolean causal) {
    SplittableRandom rnd = SEEDS.split();
    QueryBlock q = RandomProblems.queries(rnd, n, d, m - n > 0 ? m - n : 0, 1);
    KeyValueBlock kv = RandomProblems.keysValues(rnd, m, d, 0, 1);
    AttentionSpec spec = AttentionSpec.defaults().withCausal(causal);
    assertMatchesReference(q, List.of(kv), spec, 1, "n=" + n + " m=" + m + " d=" + d);
  }

  @Test
  void independentOfHowKeysAreCut() {
    for (int trial = 0; trial < 20; trial++) {
      SplittableRandom rnd = SEEDS.split();
      int n = 1 + rnd.nextInt(300);
      int m = 2 + rnd.nextInt(600);
      int d = 1 + rnd.nextInt(130);
      boolean causal = rnd.nextBoolean();
      QueryBlock q = RandomProblems.queries(rnd, n, d, rnd.nextInt(m), 1);
      KeyValueBlock kv = RandomProblems.keysValues(rnd, m, d, 0, 1);
      int[] cuts = rnd.ints(rnd.nextInt(6), 1, m).sorted().distinct().toArray();
      AttentionSpec spec = AttentionSpec.defaults().withCausal(causal);
      List<KeyValueBlock> pieces = RandomProblems.cut(kv, cuts);

      Partial whole = TiledAttention.forward(q, List.of(kv), spec);
      Partial oneSweep = TiledAttention.forward(q, pieces, spec);
      Partial merged = Partial.empty(n, d);
      for (int i = pieces.size() - 1; i >= 0; i--) { // reverse order: merge is commutative
        merged.mergeFrom(TiledAttention.forward(q, List.of(pieces.get(i)), spec));
      }
      ReferenceAttention.Result ref = ReferenceAttention.forward(q, List.of(kv), spec);
      double tol = tolerance(6 * Math.sqrt(d));
      for (Partial p : List.of(whole, oneSweep, merged)) {
        double[] err = RandomProblems.maxErrors(p, ref);
        assertTrue(err[0] <= tol && err[1] <= tol,
            "cuts " + java.util.Arrays.toString(cuts) + " n=" + n + " m=" + m + " d=" + d
                + " causal=" + causal + ": errors " + err[0] + ", " + err[1]);
      }
    }
  }

  @Test
  void rowsThatSeeNoKeyAreEmpty() {
    SplittableRandom rnd = SEEDS.split();
    QueryBlock q = RandomProblems.queries(rnd, 50, 16, 0, 1);          // positions 0..49
    KeyValueBlock later = RandomProblems.keysValues(rnd, 40, 16, 30, 1); // positions 30..69
    AttentionSpec causal = AttentionSpec.defaults().withCausal(true);
    Partial p = TiledAttention.forward(q, List.of(later), causal);
    for (int r = 0; r < 50; r++) {
      if (r < 30) {
        assertTrue(p.isEmptyRow(r), "row " + r);
        assertEquals(Double.NEGATIVE_INFINITY, p.lse(r));
        for (float x : p.outputRow(r)) {
          assertEquals(0f, x);
        }
      } else {
        assertTrue(Double.isFinite(p.lse(r)), "row " + r);
      }
    }
    assertMatchesReference(q, List.of(later), causal, 1, "partly masked");
    Partial none = TiledAttention.forward(q, List.of(), causal);
    for (int r = 0; r < 50; r++) {
      assertTrue(none.isEmptyRow(r));
    }
  }

  @Test
  void largeLogitsDoNotOverflow() {
    SplittableRandom rnd = SEEDS.split();
    double sigma = 30; // logits ~ 30*30*sqrt(64)/8 ~ 900 per standard deviation
    QueryBlock q = RandomProblems.queries(rnd, 70, 64, 100, sigma);
    KeyValueBlock kv = RandomProblems.keysValues(rnd, 170, 64, 0, sigma);
    Partial p = TiledAttention.forward(q, List.of(kv), AttentionSpec.defaults().withCausal(true));
    for (int r = 0; r < p.rows(); r++) {
      assertTrue(Double.isFinite(p.lse(r)), "lse row " + r);
      for (float x : p.outputRow(r)) {
        assertTrue(Float.isFinite(x), "o row " + r);
      }
    }
    assertMatchesReference(q, List.of(kv), AttentionSpec.defaults().withCausal(true), sigma, "large logits");
  }

  @Test
  void explicitScaleAndLowPrecisionInputs() {
    SplittableRandom rnd = SEEDS.split();
    QueryBlock q = RandomProblems.queries(rnd, 90, 64, 0, 1);
    KeyValueBlock kv = RandomProblems.keysValues(rnd, 150, 64, 0, 1);
    for (Precision precision : Precision.values()) {
      AttentionSpec spec = new AttentionSpec(0.3, true, precision);
      // the reference rounds inputs the same way, so only fp32 arithmetic error remains
      assertMatchesReference(q, List.of(kv), spec, 1, precision.label());
    }
  }

  @Test
  void parallelEqualsSingleThreaded() {
    SplittableRandom rnd = SEEDS.split();
    QueryBlock q = RandomProblems.queries(rnd, 300, 48, 0, 1);
    KeyValueBlock kv = RandomProblems.keysValues(rnd, 400, 48, 0, 1);
    AttentionSpec spec = AttentionSpec.defaults().withCausal(true);
    Partial serial = TiledAttention.forward(q, List.of(kv), spec);
    Partial parallel = TiledAttention.forwardParallel(q, List.of(kv), spec);
    // same tiles, same order within a tile: equal up to the last bits of exp, which the Vector
    // API computes slightly differently in interpreted and in compiled code
    for (int i = 0; i < serial.o().length; i++) {
      assertEquals(serial.o()[i], parallel.o()[i], 1e-6f, "o[" + i + "]");
    }
    for (int r = 0; r < serial.rows(); r++) {
      assertEquals(serial.l()[r], parallel.l()[r], 1e-5f * serial.l()[r], "l[" + r + "]");
    }
  }

  @Test
  void theCpuBackendHandsEachPartialToASinkOnceInOrder() {
    SplittableRandom rnd = SEEDS.split();
    List<QueryBlock> queries = List.of(RandomProblems.queries(rnd, 40, 16, 0, 1), RandomProblems.queries(rnd, 30, 16, 40, 1));
    KeyValueBlock kv = RandomProblems.keysValues(rnd, 70, 16, 0, 1);
    List<List<KeyValueBlock>> kvs = List.of(List.of(kv), List.of(kv));
    AttentionSpec spec = AttentionSpec.defaults().withCausal(true);
    List<Integer> order = new java.util.ArrayList<>();
    Partial[] sunk = new Partial[2];
    CpuBackend.INSTANCE.attend(queries, kvs, spec, (i, p) -> {
      order.add(i);
      sunk[i] = p;
    });
    assertEquals(List.of(0, 1), order);
    for (int i = 0; i < 2; i++) {
      double[] err = RandomProblems.maxErrors(sunk[i], ReferenceAttention.forward(queries.get(i), kvs.get(i), spec));
      assertTrue(err[0] < 1e-5 && err[1] < 1e-5, "query block " + i + ": " + err[0] + ", " + err[1]);
    }
  }
}
