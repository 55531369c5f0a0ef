package io.flashspark.attention;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random {@code flash_attention} rows for tests, as nested lists (nulls allowed at every level), the input both
 * the list layout ({@link ListBatch.Builder}) and a row UDF take; with a problem planted on request.
 */
public final class ListRows {
  /** One row's arguments. */
  public record Row(List<Float> q, List<List<Float>> keys, List<List<Float>> values, Double scale) {}

  /** Problems a test can plant, each one of the row path's checks. */
  public enum Plant { NONE, Q_EMPTY, Q_NAN, Q_NULL_VALUE, KEYS_EMPTY, VALUE_COUNT, SCALE, KEY_NULL, VALUE_EMPTY,
    KEY_LENGTH, VALUE_INFINITE, KEY_NULL_VALUE }

  private ListRows() {}

  public static List<Float> vector(SplittableRandom rnd, int d) {
    List<Float> out = new ArrayList<>(d);
    for (float x : Gaussian.floats(rnd, d, 1)) {
      out.add(x);
    }
    return out;
  }

  /** A valid row of dimension d over m keys; scale null (default) or a random positive value. */
  public static Row row(SplittableRandom rnd, int d, int m) {
    List<List<Float>> k = new ArrayList<>();
    List<List<Float>> v = new ArrayList<>();
    for (int j = 0; j < m; j++) {
      k.add(vector(rnd, d));
      v.add(vector(rnd, d));
    }
    return new Row(vector(rnd, d), k, v, rnd.nextBoolean() ? null : 0.05 + rnd.nextDouble());
  }

  /** A batch of random rows, about one in eight with a null argument. */
  public static List<Row> batch(SplittableRandom rnd, int rows, int[] dims, int maxKeys) {
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      Row r = row(rnd, dims[rnd.nextInt(dims.length)], 1 + rnd.nextInt(maxKeys));
      switch (rnd.nextInt(24)) {
        case 0 -> r = new Row(null, r.keys(), r.values(), r.scale());
        case 1 -> r = new Row(r.q(), null, r.values(), r.scale());
        case 2 -> r = new Row(r.q(), r.keys(), null, 1.0);
        default -> { }
      }
      out.add(r);
    }
    return out;
  }

  /** {@code r} with one problem planted at vector (or element) {@code at} where the kind has one. */
  public static Row plant(Row r, Plant p, int at) {
    List<Float> q = new ArrayList<>(r.q());
    List<List<Float>> k = copy(r.keys());
    List<List<Float>> v = copy(r.values());
    Double s = r.scale();
    int d = q.size();
    int j = at % k.size();
    switch (p) {
      case NONE -> { }
      case Q_EMPTY -> q.clear();
      case Q_NAN -> q.set(at % d, Float.NaN);
      case Q_NULL_VALUE -> q.set(at % d, null);
      case KEYS_EMPTY -> { k.clear(); v.clear(); }
      case VALUE_COUNT -> v.remove(v.size() - 1);
      case SCALE -> s = -1.0;
      case KEY_NULL -> k.set(j, null);
      case VALUE_EMPTY -> v.set(j, new ArrayList<>());
      case KEY_LENGTH -> k.get(j).add(1f);
      case VALUE_INFINITE -> v.get(j).set(at % d, Float.NEGATIVE_INFINITY);
      case KEY_NULL_VALUE -> k.get(j).set(at % d, null);
    }
    return new Row(q, k, v, s);
  }

  private static List<List<Float>> copy(List<List<Float>> xs) {
    List<List<Float>> out = new ArrayList<>();
    for (List<Float> x : xs) {
      out.add(x == null ? null : new ArrayList<>(x));
    }
    return out;
  }

  public static ListBatch layout(List<Row> rows) {
    ListBatch.Builder b = new ListBatch.Builder();
    for (Row r : rows) {
      b.add(r.q(), r.keys(), r.values(), r.scale());
    }
    return b.build();
  }

  /** The float64 reference of a valid row: o (d values) then lse. */
  public static double[] reference(Row r) {
    int d = r.q().size();
    int m = r.keys().size();
    float[] q = new float[d];
    float[] k = new float[m * d];
    float[] v = new float[m * d];
    for (int c = 0; c < d; c++) {
      q[c] = r.q().get(c);
    }
    for (int j = 0; j < m; j++) {
      for (int c = 0; c < d; c++) {
        k[j * d + c] = r.keys().get(j).get(c);
        v[j * d + c] = r.values().get(j).get(c);
      }
    }
    ReferenceAttention.Result ref = ReferenceAttention.forward(new QueryBlock(1, d, q, new long[1]),
        List.of(new KeyValueBlock(m, d, k, v, new long[m])),
        new AttentionSpec(r.scale() == null ? Double.NaN : r.scale(), false, Precision.FP32));
    double[] out = new double[d + 1];
    for (int c = 0; c < d; c++) {
      out[c] = ref.o(0, c);
    }
    out[d] = ref.lse()[0];
    return out;
  }
}
