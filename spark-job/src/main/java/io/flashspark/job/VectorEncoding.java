package io.flashspark.job;

import io.flashspark.attention.LowPrecision;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * How a vector column is stored. {@code ARRAY}: Parquet {@code array<float>}. The packed forms are
 * {@code binary} columns holding the vector's values little-endian, one after another:
 * fp32 (4 bytes each), fp16 or bf16 (2 bytes each). Packed columns decode at memory speed;
 * arrays of floats go through Spark's generic row conversion and are several times slower.
 */
public enum VectorEncoding {
  ARRAY(0), FP32(4), FP16(2), BF16(2);

  private final int bytesPerValue;

  VectorEncoding(int bytesPerValue) {
    this.bytesPerValue = bytesPerValue;
  }

  public static VectorEncoding parse(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "array": return ARRAY;
      case "fp32": return FP32;
      case "fp16": return FP16;
      case "bf16": return BF16;
      default: throw new InputException(
          "unknown vector encoding '" + name + "' (expected array, fp32, fp16 or bf16)");
    }
  }

  /** The name used on the command line and in table metadata: array, fp32, fp16, bf16. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public int bytesPerValue() {
    return bytesPerValue;
  }

  public boolean packed() {
    return this != ARRAY;
  }

  /** Decodes a packed vector; null with {@code problem[0]} set when the length is wrong. */
  public float[] decode(byte[] bytes, String[] problem) {
    if (bytes.length % bytesPerValue != 0) {
      problem[0] = "packed " + name().toLowerCase(Locale.ROOT) + " value of " + bytes.length
          + " bytes is not a whole number of " + bytesPerValue + "-byte values";
      return null;
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.length / bytesPerValue];
    switch (this) {
      case FP32:
        buf.asFloatBuffer().get(out);
        break;
      case FP16:
        for (int i = 0; i < out.length; i++) {
          out[i] = LowPrecision.fp16ToFloat(buf.getShort());
        }
        break;
      case BF16:
        for (int i = 0; i < out.length; i++) {
          out[i] = LowPrecision.bf16ToFloat(buf.getShort());
        }
        break;
      default:
        throw new IllegalStateException("not a packed encoding: " + this);
    }
    return out;
  }

  public byte[] encode(float[] values) {
    byte[] out = new byte[values.length * bytesPerValue];
    encode(values, 0, values.length, out);
    return out;
  }

  /** {@code count} values from {@code values[from]} into {@code out}, little-endian from its start. */
  public void encode(float[] values, int from, int count, byte[] out) {
    switch (this) {
      case FP32:
        for (int i = 0; i < count; i++) {
          INTS.set(out, 4 * i, Float.floatToRawIntBits(values[from + i]));
        }
        break;
      case FP16:
        for (int i = 0; i < count; i++) {
          SHORTS.set(out, 2 * i, LowPrecision.floatToFp16(values[from + i]));
        }
        break;
      case BF16:
        for (int i = 0; i < count; i++) {
          SHORTS.set(out, 2 * i, LowPrecision.floatToBf16(values[from + i]));
        }
        break;
      default:
        throw new IllegalStateException("not a packed encoding: " + this);
    }
  }

  private static final java.lang.invoke.VarHandle INTS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.invoke.VarHandle SHORTS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

  /** The kernels' precision of the same values (ARRAY holds fp32). */
  public io.flashspark.attention.Precision precision() {
    switch (this) {
      case BF16: return io.flashspark.attention.Precision.BF16;
      case FP16: return io.flashspark.attention.Precision.FP16;
      default: return io.flashspark.attention.Precision.FP32;
    }
  }

  /**
   * Index of the first infinite or NaN value of a packed value (exponent bits all set), or -1.
   * Every input value passes through here, so the bytes are tested eight at a time: a 64-bit word
   * holds four 16-bit values (two fp32), each lane's exponent bits masked and compared with all
   * ones at once (a lane equal to the mask leaves a zero lane after the XOR, found by the usual
   * borrow trick); only a word with a hit, and the tail, are looked at value by value.
   */
  public static int firstNonFinite(byte[] bytes, VectorEncoding encoding) {
    return firstNonFinite(bytes, 0, bytes.length, encoding);
  }

  /** {@link #firstNonFinite} of the packed value at {@code bytes[from..from + length)}. */
  public static int firstNonFinite(byte[] bytes, int from, int length, VectorEncoding encoding) {
    long mask;
    long ones;
    long highs;
    switch (encoding) {
      case FP32: mask = 0x7F800000_7F800000L; ones = 0x00000001_00000001L; highs = 0x80000000_80000000L; break;
      case BF16: mask = 0x7F80_7F80_7F80_7F80L; ones = 0x0001_0001_0001_0001L; highs = 0x8000_8000_8000_8000L; break;
      case FP16: mask = 0x7C00_7C00_7C00_7C00L; ones = 0x0001_0001_0001_0001L; highs = 0x8000_8000_8000_8000L; break;
      default: throw new IllegalStateException("not a packed encoding: " + encoding);
    }
    int words = length / 8;
    for (int w = 0; w < words; w++) {
      long t = ((long) LONGS.get(bytes, from + w * 8) & mask) ^ mask; // a lane is 0 where every exponent bit is set
      if (((t - ones) & ~t & highs) != 0) { // lanes stay below their high bit, so no false hit
        return firstNonFiniteScalar(bytes, from, w * 8, length, encoding);
      }
    }
    return firstNonFiniteScalar(bytes, from, words * 8, length, encoding);
  }

  private static final java.lang.invoke.VarHandle LONGS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /**
   * {@link #firstNonFinite} value by value, of the value at {@code bytes[from..from + length)},
   * starting at its byte {@code skip} (a multiple of the value size).
   */
  static int firstNonFiniteScalar(byte[] bytes, int from, int skip, int length, VectorEncoding encoding) {
    int end = from + length;
    switch (encoding) {
      case FP32:
        for (int i = from + skip; i + 3 < end; i += 4) {
          if ((bytes[i + 3] & 0x7f) == 0x7f && (bytes[i + 2] & 0x80) != 0) {
            return (i - from) / 4;
          }
        }
        return -1;
      case BF16:
        for (int i = from + skip; i + 1 < end; i += 2) {
          if ((bytes[i + 1] & 0x7f) == 0x7f && (bytes[i] & 0x80) != 0) {
            return (i - from) / 2;
          }
        }
        return -1;
      case FP16:
        for (int i = from + skip; i + 1 < end; i += 2) {
          if ((bytes[i + 1] & 0x7c) == 0x7c) {
            return (i - from) / 2;
          }
        }
        return -1;
      default:
        throw new IllegalStateException("not a packed encoding: " + encoding);
    }
  }
}
