package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The check's row sampling, for documents past what one Java array indexes (16M rows x d 128). */
class ReferenceCheckTest {
  @Test
  void samplesEvenlyWithTheLastRowAtAnyLength() {
    assertArrayEquals(new int[] {0, 3, 6, 9}, ReferenceCheck.evenlySpaced(10, 4));
    assertArrayEquals(new int[] {4}, ReferenceCheck.evenlySpaced(5, 1), "one sample: the row that sees most keys");
    assertArrayEquals(new int[] {0, 1, 2}, ReferenceCheck.evenlySpaced(3, 16), "never more than the rows");
    long n = 1L << 24; // 16M rows: n * 128 values overflow an int
    long[] picks = ReferenceCheck.evenlySpaced(n * 128, 16);
    assertEquals(16, picks.length);
    assertEquals(0, picks[0]);
    assertEquals(n * 128 - 1, picks[15]);
    for (int i = 1; i < picks.length; i++) {
      assertTrue(picks[i] > picks[i - 1]);
    }
  }
}
