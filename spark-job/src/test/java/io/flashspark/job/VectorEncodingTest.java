package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The packed finiteness check, word at a time, against the value-by-value one. */
class VectorEncodingTest {
  @Test
  void firstNonFiniteFindsTheFirstInfOrNanAnywhere() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("VectorEncodingTest");
    VectorEncoding[] encodings = {VectorEncoding.BF16, VectorEncoding.FP16, VectorEncoding.FP32};
    for (int trial = 0; trial < 20000; trial++) {
      VectorEncoding e = encodings[trial % 3];
      int values = rnd.nextInt(70);
      float[] x = new float[values];
      for (int i = 0; i < values; i++) {
        // finite values of every size, including the largest finite ones
        x[i] = rnd.nextInt(20) == 0 ? (rnd.nextBoolean() ? 65504f : -3.0e38f) : (float) (rnd.nextGaussian() * 1e3);
      }
      if (e == VectorEncoding.FP16) {
        for (int i = 0; i < values; i++) {
          x[i] = Math.max(-65504f, Math.min(65504f, x[i]));
        }
      }
      int planted = values > 0 && rnd.nextBoolean() ? rnd.nextInt(values) : -1;
      if (planted >= 0) {
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        x[planted] = bad[rnd.nextInt(3)];
        if (rnd.nextBoolean() && planted + 1 < values) {
          x[planted + 1 + rnd.nextInt(values - planted - 1)] = Float.NaN; // a later one does not count
        }
      }
      byte[] packed = e.encode(x);
      assertEquals(VectorEncoding.firstNonFiniteScalar(packed, 0, 0, packed.length, e), VectorEncoding.firstNonFinite(packed, e),
          e + " " + java.util.Arrays.toString(x));
      assertEquals(planted, VectorEncoding.firstNonFinite(packed, e), e + " " + java.util.Arrays.toString(x));
      // the same value inside a larger array (as the packer checks it where it was copied), with a
      // non-finite value just outside it on both sides that must not count
      int from = 1 + rnd.nextInt(9);
      byte[] inside = new byte[from + packed.length + 4];
      java.util.Arrays.fill(inside, (byte) 0xff);
      System.arraycopy(packed, 0, inside, from, packed.length);
      assertEquals(planted, VectorEncoding.firstNonFinite(inside, from, packed.length, e), e + " at " + from);
    }
  }
}
