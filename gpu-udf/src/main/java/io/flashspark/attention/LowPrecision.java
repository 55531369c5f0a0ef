package io.flashspark.attention;

/**
 * bf16 and IEEE fp16 bit conversions (round to nearest even), for packed inputs and for the CPU
 * backend's emulation of the GPU's low-precision inputs. Java 17 has no Float.floatToFloat16.
 */
public final class LowPrecision {
  private LowPrecision() {}

  public static short floatToBf16(float x) {
    int bits = Float.floatToRawIntBits(x);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      return (short) ((bits >>> 16) | 0x40); // keep NaN a (quiet) NaN
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  public static float bf16ToFloat(short h) {
    return Float.intBitsToFloat((h & 0xffff) << 16);
  }

  public static short floatToFp16(float x) {
    int bits = Float.floatToRawIntBits(x);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7fffffff;
    if (abs >= 0x7f800000) { // Inf or NaN
      return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0));
    }
    if (abs >= 0x477ff000) { // rounds to >= 65520: overflow to Inf
      return (short) (sign | 0x7c00);
    }
    if (abs < 0x38800000) { // below the smallest normal fp16 (2^-14): subnormal or zero
      if (abs < 0x33000000) { // below half the smallest subnormal (2^-25)
        return (short) sign;
      }
      int exp = abs >>> 23;
      int mant = (abs & 0x7fffff) | 0x800000;
      int shift = 126 - exp; // 14 + (127 - 1 - exp) - 10 ... aligns to 2^-24 units
      int value = mant >>> shift;
      int rest = mant & ((1 << shift) - 1);
      int half = 1 << (shift - 1);
      if (rest > half || (rest == half && (value & 1) == 1)) {
        value++;
      }
      return (short) (sign | value);
    }
    int rounded = abs + 0xfff + ((abs >>> 13) & 1);
    return (short) (sign | ((rounded - 0x38000000) >>> 13));
  }

  public static float fp16ToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      float value = mant * 0x1p-24f;
      return sign != 0 ? -value : value;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }
}
