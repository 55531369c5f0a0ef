package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The list layout's CPU stand-in (what the GPU kernel does) against the float64 reference, row by
 * row, with null rows and every planted problem decoded back to the row and check it came from.
 */
class ListBatchTest {
  /** |o - ref| within one float rounding of the reference, lse within 1e-12 relative. */
  static void assertRowMatches(ListBatch b, ListBatch.Result res, int row, double[] ref, String what) {
    int qa = b.qOffsets[row];
    int d = b.qOffsets[row + 1] - qa;
    for (int c = 0; c < d; c++) {
      double tol = Math.ulp((float) ref[c]) + 1e-30;
      assertTrue(Math.abs(res.o()[qa + c] - ref[c]) <= tol,
          what + " row " + row + " o[" + c + "] = " + res.o()[qa + c] + " vs " + ref[c]);
    }
    assertEquals(ref[d], res.lse()[row], 1e-12 * Math.max(1, Math.abs(ref[d])), what + " row " + row + " lse");
  }

  @Test
  void randomBatchesMatchTheReference() {
    SplittableRandom rnd = Seeds.fresh("ListBatchTest");
    for (int trial = 0; trial < 20; trial++) {
      List<ListRows.Row> rows = ListRows.batch(rnd, 1 + rnd.nextInt(70), new int[] {1, 3, 8, 64, 130}, 90);
      ListBatch b = ListRows.layout(rows);
      ListBatch.Result res = b.evaluate();
      assertNull(res.problem());
      long nulls = 0;
      for (int i = 0; i < rows.size(); i++) {
        ListRows.Row r = rows.get(i);
        if (r.q() == null || r.keys() == null || r.values() == null) {
          assertTrue(res.isNull(i), "row " + i + " has a null argument: null result");
          nulls++;
          continue;
        }
        assertTrue(!res.isNull(i), "row " + i);
        assertRowMatches(b, res, i, ListRows.reference(r), "trial " + trial);
      }
      assertEquals(nulls, res.nullRows());
    }
  }

  @ParameterizedTest
  @EnumSource(ListRows.Plant.class)
  void aPlantedProblemIsFoundAtItsRowAndCheck(ListRows.Plant plant) {
    SplittableRandom rnd = Seeds.fresh("ListBatchTest " + plant);
    List<ListRows.Row> rows = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      rows.add(ListRows.row(rnd, 5, 4));
    }
    rows.set(3, ListRows.plant(rows.get(3), plant, 2));
    rows.set(6, ListRows.plant(rows.get(6), plant, 1)); // a later bad row never hides the first
    ListBatch.Result res = ListRows.layout(rows).evaluate();
    if (plant == ListRows.Plant.NONE) {
      assertNull(res.problem());
      return;
    }
    ListBatch.Problem p = res.problem();
    assertNotNull(p);
    assertEquals(3, p.row());
    ListRows.Row bad = rows.get(3);
    switch (plant) {
      case Q_EMPTY -> assertEquals(ListBatch.Kind.EMPTY, p.kind());
      case Q_NAN -> { assertEquals(ListBatch.Kind.BAD_VALUE, p.kind()); assertEquals(2, p.index());
        assertTrue(p.value().isNaN()); assertEquals(1, p.argument()); }
      case Q_NULL_VALUE -> { assertEquals(ListBatch.Kind.BAD_VALUE, p.kind()); assertNull(p.value()); }
      case KEYS_EMPTY -> assertEquals(ListBatch.Kind.KEYS_EMPTY, p.kind());
      case VALUE_COUNT -> { assertEquals(ListBatch.Kind.VALUE_COUNT, p.kind()); assertEquals(4, p.keyCount());
        assertEquals(3, p.valueCount()); }
      case SCALE -> { assertEquals(ListBatch.Kind.SCALE, p.kind()); assertEquals(-1.0, p.scale()); }
      case KEY_NULL -> { assertEquals(ListBatch.Kind.VECTOR_NULL, p.kind()); assertEquals(2, p.argument());
        assertEquals(2, p.vector()); }
      case VALUE_EMPTY -> { assertEquals(ListBatch.Kind.VECTOR_EMPTY, p.kind()); assertEquals(3, p.argument()); }
      case KEY_LENGTH -> { assertEquals(ListBatch.Kind.VECTOR_LENGTH, p.kind()); assertEquals(6, p.length());
        assertEquals(5, p.dim()); }
      case VALUE_INFINITE -> { assertEquals(ListBatch.Kind.BAD_VALUE, p.kind()); assertEquals(3, p.argument());
        assertEquals(2, p.vector()); assertEquals(2, p.index()); assertEquals(Float.NEGATIVE_INFINITY, p.value()); }
      case KEY_NULL_VALUE -> { assertEquals(ListBatch.Kind.BAD_VALUE, p.kind()); assertEquals(2, p.argument());
        assertNull(p.value()); }
      default -> throw new AssertionError(plant);
    }
    assertNotNull(bad);
  }
}
