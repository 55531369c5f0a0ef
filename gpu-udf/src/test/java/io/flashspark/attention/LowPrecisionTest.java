package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LowPrecisionTest {
  /** Nearest value on the fp16 grid by exhaustive search over the 65536 encodings (the reference). */
  private static float nearestFp16(float x, float[] grid) {
    float best = Float.NaN;
    double bestErr = Double.POSITIVE_INFINITY;
    for (float g : grid) {
      double err = Math.abs((double) g - x);
      if (err < bestErr || (err == bestErr && (Float.floatToRawIntBits(g) & 0x2000) == 0)) {
        bestErr = err;
        best = g;
      }
    }
    return best;
  }

  @Test
  void fp16RoundsToNearestEven() {
    float[] grid = new float[0x7c00];
    for (int h = 0; h < 0x7c00; h++) {
      grid[h] = LowPrecision.fp16ToFloat((short) h);
    }
    SplittableRandom rnd = Seeds.fresh("LowPrecisionTest");
    for (int i = 0; i < 3000; i++) {
      float x = (float) (Math.exp(rnd.nextDouble(-20, 11)) * (rnd.nextBoolean() ? 1 : -1));
      float expected = Math.copySign(nearestFp16(Math.abs(x), grid), x);
      assertEquals(expected, LowPrecision.fp16ToFloat(LowPrecision.floatToFp16(x)), "x=" + x);
    }
    assertEquals(65504f, LowPrecision.fp16ToFloat(LowPrecision.floatToFp16(65519f)));
    assertTrue(Float.isInfinite(LowPrecision.fp16ToFloat(LowPrecision.floatToFp16(65520f))));
    assertTrue(Float.isNaN(LowPrecision.fp16ToFloat(LowPrecision.floatToFp16(Float.NaN))));
    for (int h = 0; h < 0x10000; h++) { // every finite encoding survives a round trip
      float f = LowPrecision.fp16ToFloat((short) h);
      if (Float.isFinite(f)) {
        assertEquals(h, LowPrecision.floatToFp16(f) & 0xffff, "encoding " + h);
      }
    }
  }

  @Test
  void bf16RoundsToNearestEven() {
    assertEquals(1.0f, LowPrecision.bf16ToFloat(LowPrecision.floatToBf16(1.00390625f))); // tie -> even
    assertEquals(1.015625f, LowPrecision.bf16ToFloat(LowPrecision.floatToBf16(1.01171875f))); // tie -> even (up)
    SplittableRandom rnd = Seeds.fresh("LowPrecisionTest");
    for (int i = 0; i < 10000; i++) {
      float x = (float) (rnd.nextDouble(-1, 1) * Math.exp(rnd.nextDouble(-30, 30)));
      float r = LowPrecision.bf16ToFloat(LowPrecision.floatToBf16(x));
      assertTrue(Math.abs(r - x) <= Math.ulp(r) * 65536 / 2 * 1.0000001, "x=" + x + " r=" + r);
    }
  }
}
