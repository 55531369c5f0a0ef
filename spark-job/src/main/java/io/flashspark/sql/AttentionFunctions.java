package io.flashspark.sql;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.ListBatch;
import io.flashspark.attention.Precision;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.ReferenceAttention;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF4;
import org.apache.spark.sql.expressions.Aggregator;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The SQL functions, as Spark UDFs ({@link FlashSparkExtensions} registers them):
 * <ul>
 *   <li>{@code flash_attention(q, keys, values [, scale])}: exact attention of one query vector
 *       over arrays of key and value vectors (all of one length d), computed in float64 by the
 *       core's reference ({@link ReferenceAttention}); returns {@code struct<o: array<float>, lse:
 *       double>}. A null argument gives null; scale null or absent: 1/sqrt(d).</li>
 *   <li>{@code attention_merge(o, lse)}: an aggregate that combines partial results by the
 *       online-softmax rule, in float64: {@code lse = M + ln sum exp(lse_i - M)},
 *       {@code o = sum exp(lse_i - lse) o_i}; empty partials ({@code lse = -Infinity}) weigh
 *       nothing; order-independent within rounding. Null rows are skipped.</li>
 * </ul>
 * Bad values fail the query with the function and argument named (Spark reports them as
 * {@code FAILED_EXECUTE_UDF} with this message as the cause).
 */
public final class AttentionFunctions {
  public static final String ATTENTION = "flash_attention";
  public static final String MERGE = "attention_merge";

  /** {@code struct<o: array<float>, lse: double>}: both functions' result. */
  public static final StructType RESULT = DataTypes.createStructType(List.of(
      DataTypes.createStructField("o", DataTypes.createArrayType(DataTypes.FloatType, false), false),
      DataTypes.createStructField("lse", DataTypes.DoubleType, false)));

  /** attention_merge's input row: (o, lse). */
  static final StructType PARTIAL = DataTypes.createStructType(List.of(
      DataTypes.createStructField("o", DataTypes.createArrayType(DataTypes.FloatType, true), true),
      DataTypes.createStructField("lse", DataTypes.DoubleType, true)));

  private AttentionFunctions() {}

  /** The row UDF's Java type: (q, keys, values, scale) to struct(o, lse). */
  public interface Attend extends UDF4<scala.collection.Seq<Object>, scala.collection.Seq<scala.collection.Seq<Object>>,
      scala.collection.Seq<scala.collection.Seq<Object>>, Double, Row> {}

  /**
   * The columnar implementation built by the {@code rapids} Maven profile: the same row path plus the
   * RAPIDS Accelerator's {@code evaluateColumnar} (the plugin finds it inside the UDF Spark builds).
   */
  public static final String COLUMNAR_CLASS = "io.flashspark.rapids.GpuFlashAttention";

  /**
   * flash_attention as a 4-argument UDF (scale may be null): the columnar implementation where this
   * jar was built with it and the RAPIDS Accelerator's classes are on the class path, else the row path.
   */
  public static UserDefinedFunction flashAttention() {
    return functions.udf(implementation(), RESULT).withName(ATTENTION);
  }

  /** The Java UDF behind flash_attention (see {@link #flashAttention}). */
  public static Attend implementation() {
    try {
      return (Attend) Class.forName(COLUMNAR_CLASS, true, AttentionFunctions.class.getClassLoader())
          .getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | LinkageError e) { // not built in, or no plugin: rows
      return AttentionFunctions::attend;
    }
  }

  /**
   * The error the row path raises for a problem found in the list layout (the columnar path's
   * kernel, or its CPU stand-in), word for word.
   */
  public static IllegalArgumentException error(ListBatch.Problem p) {
    String[] names = {null, "q", "keys", "values", "scale"};
    String name = names[p.argument()];
    String what = p.vector() < 0 ? "" : " vector " + p.vector();
    switch (p.kind()) {
      case EMPTY:
        return error(1, "q", " is empty");
      case KEYS_EMPTY:
        return error(2, "keys", "is empty (attention needs at least one key)");
      case VALUE_COUNT:
        return error(3, "values", "has " + p.valueCount() + " vectors but keys has " + p.keyCount());
      case SCALE:
        return error(4, "scale", "must be a positive finite number, got " + p.scale());
      case VECTOR_NULL:
        return error(p.argument(), name, what + " is null");
      case VECTOR_EMPTY:
        return error(p.argument(), name, what + " is empty");
      case VECTOR_LENGTH:
        return error(p.argument(), name, what + " has " + p.length() + " values but q has " + p.dim());
      case BAD_VALUE:
        return error(p.argument(), name, what + " has " + p.value() + " at index " + p.index());
      default:
        throw new IllegalStateException("unknown problem " + p);
    }
  }

  /** attention_merge as a UDAF over (o, lse). */
  public static UserDefinedFunction attentionMerge() {
    return functions.udaf(new Merge(), Encoders.row(PARTIAL)).withName(MERGE);
  }

  public static Row attend(scala.collection.Seq<Object> q, scala.collection.Seq<scala.collection.Seq<Object>> keys,
      scala.collection.Seq<scala.collection.Seq<Object>> values, Double scale) {
    if (q == null || keys == null || values == null) {
      return null;
    }
    float[] query = vector(q, "q", -1, -1);
    int d = query.length;
    int m = keys.size();
    if (m == 0) {
      throw error(2, "keys", "is empty (attention needs at least one key)");
    }
    if (values.size() != m) {
      throw error(3, "values", "has " + values.size() + " vectors but keys has " + m);
    }
    if (scale != null && !(scale > 0 && Double.isFinite(scale))) {
      throw error(4, "scale", "must be a positive finite number, got " + scale);
    }
    float[] k = new float[m * d];
    float[] v = new float[m * d];
    for (int j = 0; j < m; j++) {
      System.arraycopy(vector(keys.apply(j), "keys", j, d), 0, k, j * d, d);
      System.arraycopy(vector(values.apply(j), "values", j, d), 0, v, j * d, d);
    }
    long[] pos = new long[m];
    ReferenceAttention.Result r = ReferenceAttention.forward(new QueryBlock(1, d, query, new long[1]),
        List.of(new KeyValueBlock(m, d, k, v, pos)), new AttentionSpec(scale == null ? Double.NaN : scale, false,
            Precision.FP32));
    float[] o = new float[d];
    for (int c = 0; c < d; c++) {
      o[c] = (float) r.o(0, c);
    }
    return RowFactory.create(o, r.lse()[0]);
  }

  /** One vector argument as floats; {@code index} >= 0 for an element of an array of vectors. */
  private static float[] vector(scala.collection.Seq<Object> values, String name, int index, int dim) {
    int argument = name.equals("q") ? 1 : name.equals("keys") ? 2 : 3;
    String what = index < 0 ? "" : " vector " + index;
    if (values == null) {
      throw error(argument, name, what + " is null");
    }
    if (values.isEmpty()) {
      throw error(argument, name, what + " is empty");
    }
    if (dim >= 0 && values.size() != dim) {
      throw error(argument, name, what + " has " + values.size() + " values but q has " + dim);
    }
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      Object x = values.apply(i);
      if (x == null || !Float.isFinite((Float) x)) {
        throw error(argument, name, what + " has " + x + " at index " + i);
      }
      out[i] = (Float) x;
    }
    return out;
  }

  static IllegalArgumentException error(int argument, String name, String problem) {
    String fn = name.equals("o") || name.equals("lse") ? MERGE : ATTENTION;
    return new IllegalArgumentException(fn + ": argument " + argument + " (" + name + ")"
        + (problem.startsWith(" ") ? problem : " " + problem));
  }

  /** The running merge: the largest lse so far, the sum of weights relative to it, the weighted o. */
  public static final class Buffer implements Serializable {
    private static final long serialVersionUID = 1L;
    private double max = Double.NEGATIVE_INFINITY;
    private double sum;
    private double[] acc = new double[0];
    private int dim = -1;

    public double getMax() { return max; }
    public void setMax(double x) { max = x; }
    public double getSum() { return sum; }
    public void setSum(double x) { sum = x; }
    public double[] getAcc() { return acc; }
    public void setAcc(double[] x) { acc = x; }
    public int getDim() { return dim; }
    public void setDim(int x) { dim = x; }

    /** Adds {@code weight·exp(lse - max)} of {@code o} (lse already checked). */
    void add(double[] o, double lse, double weight) {
      if (lse > max) {
        double shrink = Math.exp(max - lse); // 0 when max was -inf
        sum *= shrink;
        for (int c = 0; c < acc.length; c++) {
          acc[c] *= shrink;
        }
        max = lse;
      }
      double w = weight * Math.exp(lse - max);
      sum += w;
      for (int c = 0; c < o.length; c++) {
        acc[c] += w * o[c];
      }
    }

    void dimension(int d) {
      if (dim < 0) {
        dim = d;
        acc = new double[d];
      } else if (d != dim) {
        throw error(1, "o", " has " + d + " values but other partials of the group have " + dim);
      }
    }
  }

  /** attention_merge's aggregator. */
  static final class Merge extends Aggregator<Row, Buffer, Row> {
    private static final long serialVersionUID = 1L;

    @Override public Buffer zero() {
      return new Buffer();
    }

    @Override public Buffer reduce(Buffer b, Row partial) {
      if (partial == null || partial.isNullAt(0) || partial.isNullAt(1)) {
        return b;
      }
      double lse = partial.getDouble(1);
      if (Double.isNaN(lse) || lse == Double.POSITIVE_INFINITY) {
        throw error(2, "lse", " is " + lse + " (expected a finite number, or -Infinity for an empty partial)");
      }
      List<Object> values = partial.getList(0);
      b.dimension(values.size());
      double[] o = new double[values.size()];
      for (int c = 0; c < o.length; c++) {
        Object x = values.get(c);
        if (x == null || !Float.isFinite((Float) x)) {
          throw error(1, "o", " has " + x + " at index " + c);
        }
        o[c] = (Float) x;
      }
      if (lse != Double.NEGATIVE_INFINITY) {
        b.add(o, lse, 1.0);
      }
      return b;
    }

    @Override public Buffer merge(Buffer a, Buffer b) {
      if (b.dim < 0) {
        return a;
      }
      a.dimension(b.dim);
      if (b.sum > 0) { // b as one partial: its normalised o at lse = b.max, weighing b.sum
        double[] o = new double[b.acc.length];
        for (int c = 0; c < o.length; c++) {
          o[c] = b.acc[c] / b.sum;
        }
        a.add(o, b.max, b.sum);
      }
      return a;
    }

    @Override public Row finish(Buffer b) {
      int d = Math.max(b.dim, 0);
      float[] o = new float[d];
      if (!(b.sum > 0)) {
        return RowFactory.create(o, Double.NEGATIVE_INFINITY); // only empty partials
      }
      for (int c = 0; c < d; c++) {
        o[c] = (float) (b.acc[c] / b.sum);
      }
      return RowFactory.create(o, b.max + Math.log(b.sum));
    }

    @Override public Encoder<Buffer> bufferEncoder() {
      return Encoders.bean(Buffer.class);
    }

    @Override public Encoder<Row> outputEncoder() {
      return Encoders.row(RESULT);
    }
  }
}
