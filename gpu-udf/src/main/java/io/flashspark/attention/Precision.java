package io.flashspark.attention;

/** Input precision of q, k, v. Products always accumulate in fp32. */
public enum Precision {
  FP32, BF16, FP16;

  /** The value this precision stores for {@code x} (round to nearest even). */
  public float round(float x) {
    switch (this) {
      case BF16: return LowPrecision.bf16ToFloat(LowPrecision.floatToBf16(x));
      case FP16: return LowPrecision.fp16ToFloat(LowPrecision.floatToFp16(x));
      default: return x;
    }
  }

  /** A copy of {@code values} rounded to this precision (the array itself for FP32). */
  public float[] roundAll(float[] values) {
    if (this == FP32 || values == null) {
      return values;
    }
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = round(values[i]);
    }
    return out;
  }

  public static Precision parse(String name) {
    switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "fp32": return FP32;
      case "bf16": return BF16;
      case "fp16": return FP16;
      default: throw new IllegalArgumentException(
          "unknown precision '" + name + "' (expected fp32, bf16 or fp16)");
    }
  }

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
