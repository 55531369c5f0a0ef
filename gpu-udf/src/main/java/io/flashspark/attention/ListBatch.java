package io.flashspark.attention;

import java.util.ArrayList;
import java.util.List;

/**
 * A batch of {@code flash_attention(q, keys, values, scale)} rows in the Arrow / cuDF list layout, the
 * form the RAPIDS Accelerator hands a columnar UDF, and the CPU stand-in of the GPU kernel that reads
 * that layout ({@code kernels/src/list_attention.cu}, launched by {@code io.flashspark.gpu.ListAttention}):
 * <pre>
 *   q       LIST(FLOAT32)        qOffsets[rows+1] -> q[] values
 *   keys    LIST(LIST(FLOAT32))  outer[rows+1] -> vectors, inner[vectors+1] -> data[] values
 *   values  LIST(LIST(FLOAT32))  the same
 *   scale   FLOAT64              scale[rows]
 *   validity: bit i of word i/32 (LSB first) set = element i present; a null mask = no nulls
 * </pre>
 * {@link #evaluate} does what the kernel does, in the same order and precision, so that tests can
 * hold the row path (Spark's row UDF) and this layout against each other without a GPU, and the
 * kernel against this stand-in on one.
 */
public final class ListBatch {
  /** One list-of-vectors argument. */
  public record Vectors(float[] data, int[] outer, int[] inner, int[] rowMask, int[] vectorMask, int[] valueMask) {
    int count() {
      return inner.length - 1;
    }
  }

  public final int rows;
  public final float[] q;
  public final int[] qOffsets;
  public final int[] qRowMask;
  public final int[] qValueMask;
  public final Vectors keys;
  public final Vectors values;
  public final double[] scale;
  public final int[] scaleMask;

  public ListBatch(int rows, float[] q, int[] qOffsets, int[] qRowMask, int[] qValueMask, Vectors keys,
      Vectors values, double[] scale, int[] scaleMask) {
    this.rows = rows;
    this.q = q;
    this.qOffsets = qOffsets;
    this.qRowMask = qRowMask;
    this.qValueMask = qValueMask;
    this.keys = keys;
    this.values = values;
    this.scale = scale;
    this.scaleMask = scaleMask;
  }

  /** What the kernel writes: o at q's offsets, lse and validity per row, and the first bad row's problem. */
  public record Result(float[] o, double[] lse, int[] valid, long nullRows, Problem problem) {
    public boolean isNull(int row) {
      return !bit(valid, row);
    }
  }

  /**
   * The first problem of the batch (in the row path's order of checks, at the lowest bad row), with
   * the facts its message names. {@code argument}: 1 q, 2 keys, 3 values, 4 scale; {@code vector}: the
   * vector's index within keys/values (-1 for q); {@code index}: the element's index (-1 if none).
   */
  public record Problem(long row, Kind kind, int argument, int vector, int index, int dim, int keyCount,
      int valueCount, int length, Float value, double scale) {}

  public enum Kind { EMPTY, KEYS_EMPTY, VALUE_COUNT, SCALE, VECTOR_NULL, VECTOR_EMPTY, VECTOR_LENGTH, BAD_VALUE }

  /** Reads the few facts a problem's message needs, from host arrays or from device memory. */
  public interface Lookup {
    int qOffset(long row);

    /** Vector offset of a row in keys (argument 2) or values (3). */
    int outer(int argument, long row);

    /** Value offset of a vector in keys (2) or values (3). */
    int inner(int argument, long vector);

    /** A value (argument 1 q, 2 keys, 3 values), null where its validity bit is clear. */
    Float value(int argument, long element);

    double scale(long row);
  }

  static boolean bit(int[] mask, long i) {
    return mask == null || ((mask[(int) (i >> 5)] >>> (i & 31)) & 1) != 0;
  }

  // problem ranks, as the kernel packs them: stage (3 bits) | vector (31) | which (1) | sub (29)
  static long rank(long stage, long vector, long which, long sub) {
    return (stage << 61) | (vector << 30) | (which << 29) | sub;
  }

  /** Decodes a kernel's problem rank (as stored: rank + 1) at {@code row} into a {@link Problem}. */
  public static Problem problem(long row, long storedRank, Lookup at) {
    long r = storedRank - 1;
    int stage = (int) (r >>> 61);
    int vector = (int) ((r >>> 30) & 0x7fffffffL);
    int which = (int) ((r >>> 29) & 1);
    int sub = (int) (r & ((1 << 29) - 1));
    int q0 = at.qOffset(row);
    int dim = at.qOffset(row + 1) - q0;
    int keyCount = at.outer(2, row + 1) - at.outer(2, row);
    int valueCount = at.outer(3, row + 1) - at.outer(3, row);
    double scale = stage == 3 ? at.scale(row) : Double.NaN;
    switch (stage) {
      case 0:
        return sub == 0 ? new Problem(row, Kind.EMPTY, 1, -1, -1, dim, keyCount, valueCount, 0, null, scale)
            : new Problem(row, Kind.BAD_VALUE, 1, -1, sub - 1, dim, keyCount, valueCount, dim,
                at.value(1, q0 + sub - 1), scale);
      case 1:
        return new Problem(row, Kind.KEYS_EMPTY, 2, -1, -1, dim, keyCount, valueCount, 0, null, scale);
      case 2:
        return new Problem(row, Kind.VALUE_COUNT, 3, -1, -1, dim, keyCount, valueCount, 0, null, scale);
      case 3:
        return new Problem(row, Kind.SCALE, 4, -1, -1, dim, keyCount, valueCount, 0, null, scale);
      case 4: {
        int argument = 2 + which;
        long vec = at.outer(argument, row) + (long) vector;
        int v0 = at.inner(argument, vec);
        int length = at.inner(argument, vec + 1) - v0;
        Kind kind = sub == 0 ? Kind.VECTOR_NULL : sub == 1 ? Kind.VECTOR_EMPTY : sub == 2 ? Kind.VECTOR_LENGTH
            : Kind.BAD_VALUE;
        int index = sub >= 3 ? sub - 3 : -1;
        Float value = sub >= 3 ? at.value(argument, v0 + (long) index) : null;
        return new Problem(row, kind, argument, vector, index, dim, keyCount, valueCount, length, value, scale);
      }
      default:
        throw new IllegalStateException("unknown problem rank " + Long.toHexString(storedRank) + " at row " + row);
    }
  }

  /** Host arrays as a {@link Lookup}. */
  public Lookup lookup() {
    return new Lookup() {
      @Override public int qOffset(long row) {
        return qOffsets[(int) row];
      }

      @Override public int outer(int argument, long row) {
        return (argument == 2 ? keys : values).outer()[(int) row];
      }

      @Override public int inner(int argument, long vector) {
        return (argument == 2 ? keys : values).inner()[(int) vector];
      }

      @Override public Float value(int argument, long element) {
        int[] mask = argument == 1 ? qValueMask : (argument == 2 ? keys : values).valueMask();
        float[] data = argument == 1 ? q : (argument == 2 ? keys : values).data();
        return bit(mask, element) ? data[(int) element] : null;
      }

      @Override public double scale(long row) {
        return scale[(int) row];
      }
    };
  }

  /** The kernel's algorithm on the CPU: same checks, same order, float64 throughout. */
  public Result evaluate() {
    float[] o = new float[q.length];
    double[] lse = new double[rows];
    int[] valid = new int[(rows + 31) / 32];
    long nullRows = 0;
    long firstBad = -1;
    long firstRank = 0;
    for (int row = 0; row < rows; row++) {
      int qa = qOffsets[row];
      int d = qOffsets[row + 1] - qa;
      if (!bit(qRowMask, row) || !bit(keys.rowMask(), row) || !bit(values.rowMask(), row)) {
        nullRows++;
        continue;
      }
      long r = firstProblem(row, qa, d);
      if (r != 0) {
        if (firstBad < 0) {
          firstBad = row;
          firstRank = r;
        }
        continue;
      }
      valid[row >> 5] |= 1 << (row & 31);
      int m = keys.outer()[row + 1] - keys.outer()[row];
      double sc = bit(scaleMask, row) ? scale[row] : 1.0 / Math.sqrt(d);
      double[] s = new double[m];
      double mx = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < m; j++) {
        int k0 = keys.inner()[keys.outer()[row] + j];
        double acc = 0;
        for (int c = 0; c < d; c++) {
          acc = Math.fma((double) q[qa + c], (double) keys.data()[k0 + c], acc);
        }
        s[j] = acc * sc;
        mx = Math.max(mx, s[j]);
      }
      double l = 0;
      for (int j = 0; j < m; j++) {
        s[j] = Math.exp(s[j] - mx);
        l += s[j];
      }
      for (int c = 0; c < d; c++) {
        double acc = 0;
        for (int j = 0; j < m; j++) {
          acc = Math.fma(s[j], (double) values.data()[values.inner()[values.outer()[row] + j] + c], acc);
        }
        o[qa + c] = (float) (acc / l);
      }
      lse[row] = mx + Math.log(l);
    }
    return new Result(o, lse, valid, nullRows, firstBad < 0 ? null : problem(firstBad, firstRank, lookup()));
  }

  /** The row's first problem as the kernel stores it (rank + 1), 0 if none. */
  private long firstProblem(int row, int qa, int d) {
    int m = keys.outer()[row + 1] - keys.outer()[row];
    int mv = values.outer()[row + 1] - values.outer()[row];
    if (d == 0) {
      return rank(0, 0, 0, 0) + 1;
    }
    for (int c = 0; c < d; c++) {
      if (!bit(qValueMask, qa + c) || !Float.isFinite(q[qa + c])) {
        return rank(0, 0, 0, 1 + c) + 1;
      }
    }
    if (m == 0) {
      return rank(1, 0, 0, 0) + 1;
    }
    if (mv != m) {
      return rank(2, 0, 0, 0) + 1;
    }
    if (bit(scaleMask, row) && !(scale[row] > 0 && Double.isFinite(scale[row]))) {
      return rank(3, 0, 0, 0) + 1;
    }
    for (int j = 0; j < m; j++) {
      for (int which = 0; which < 2; which++) {
        Vectors a = which == 0 ? keys : values;
        int vec = a.outer()[row] + j;
        int len = a.inner()[vec + 1] - a.inner()[vec];
        if (!bit(a.vectorMask(), vec)) {
          return rank(4, j, which, 0) + 1;
        }
        if (len == 0) {
          return rank(4, j, which, 1) + 1;
        }
        if (len != d) {
          return rank(4, j, which, 2) + 1;
        }
        for (int c = 0; c < d; c++) {
          int e = a.inner()[vec] + c;
          if (!bit(a.valueMask(), e) || !Float.isFinite(a.data()[e])) {
            return rank(4, j, which, 3 + c) + 1;
          }
        }
      }
    }
    return 0;
  }

  /** Builds a batch row by row; nulls allowed at every level (row, vector, value). */
  public static final class Builder {
    private final List<Float> q = new ArrayList<>();
    private final List<Integer> qOffsets = new ArrayList<>(List.of(0));
    private final List<Boolean> qRows = new ArrayList<>();
    private final VectorsBuilder keys = new VectorsBuilder();
    private final VectorsBuilder values = new VectorsBuilder();
    private final List<Double> scale = new ArrayList<>();

    public Builder add(List<Float> query, List<List<Float>> keyVectors, List<List<Float>> valueVectors, Double s) {
      qRows.add(query != null);
      if (query != null) {
        q.addAll(query);
      }
      qOffsets.add(q.size());
      keys.add(keyVectors);
      values.add(valueVectors);
      scale.add(s);
      return this;
    }

    public ListBatch build() {
      int rows = qRows.size();
      double[] s = new double[rows];
      List<Boolean> sValid = new ArrayList<>();
      for (int i = 0; i < rows; i++) {
        s[i] = scale.get(i) == null ? 0 : scale.get(i);
        sValid.add(scale.get(i) != null);
      }
      return new ListBatch(rows, floats(q), ints(qOffsets), mask(qRows), mask(nonNull(q)), keys.build(),
          values.build(), s, mask(sValid));
    }
  }

  private static final class VectorsBuilder {
    private final List<Float> data = new ArrayList<>();
    private final List<Integer> outer = new ArrayList<>(List.of(0));
    private final List<Integer> inner = new ArrayList<>(List.of(0));
    private final List<Boolean> rows = new ArrayList<>();
    private final List<Boolean> vectors = new ArrayList<>();

    void add(List<List<Float>> row) {
      rows.add(row != null);
      if (row != null) {
        for (List<Float> vec : row) {
          vectors.add(vec != null);
          if (vec != null) {
            data.addAll(vec);
          }
          inner.add(data.size());
        }
      }
      outer.add(inner.size() - 1);
    }

    Vectors build() {
      return new Vectors(floats(data), ints(outer), ints(inner), mask(rows), mask(vectors), mask(nonNull(data)));
    }
  }

  private static List<Boolean> nonNull(List<Float> xs) {
    List<Boolean> out = new ArrayList<>(xs.size());
    for (Float x : xs) {
      out.add(x != null);
    }
    return out;
  }

  private static float[] floats(List<Float> xs) {
    float[] out = new float[xs.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = xs.get(i) == null ? 0f : xs.get(i);
    }
    return out;
  }

  private static int[] ints(List<Integer> xs) {
    int[] out = new int[xs.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = xs.get(i);
    }
    return out;
  }

  /** A validity bitmask, or null when every bit is set (as cuDF leaves columns without nulls). */
  private static int[] mask(List<Boolean> present) {
    if (!present.contains(false)) {
      return null;
    }
    int[] out = new int[(present.size() + 31) / 32];
    for (int i = 0; i < present.size(); i++) {
      if (present.get(i)) {
        out[i >> 5] |= 1 << (i & 31);
      }
    }
    return out;
  }
}
