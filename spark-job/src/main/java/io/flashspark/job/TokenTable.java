package io.flashspark.job;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The token tables (Parquet): {@code doc_id string, head int, pos long} and the role's vector
 * columns {@code q, k, v}, each {@code array<float>} or packed {@code binary} (see
 * {@link VectorEncoding}). Checks the schema on the driver and decodes rows into tokens.
 */
public final class TokenTable {
  public static final String DOC_ID = "doc_id";
  public static final String HEAD = "head";
  public static final String POS = "pos";

  private TokenTable() {}

  public static StructType schema(VectorEncoding encoding, List<String> vectorColumns) {
    DataType vectorType = encoding.packed() ? DataTypes.BinaryType
        : DataTypes.createArrayType(DataTypes.FloatType, true);
    List<StructField> fields = new ArrayList<>();
    fields.add(DataTypes.createStructField(DOC_ID, DataTypes.StringType, false));
    fields.add(DataTypes.createStructField(HEAD, DataTypes.IntegerType, false));
    fields.add(DataTypes.createStructField(POS, DataTypes.LongType, false));
    for (String c : vectorColumns) {
      fields.add(DataTypes.createStructField(c, vectorType, true));
    }
    return DataTypes.createStructType(fields);
  }

  /** Reads and decodes a token table; schema problems are reported before any job runs. */
  public static JavaRDD<Token> read(SparkSession spark, String path, TableRole role, VectorEncoding packedAs) {
    Dataset<Row> df;
    try {
      df = spark.read().parquet(path);
    } catch (Exception e) {
      throw new InputException("cannot read Parquet table '" + path + "': " + firstLine(e));
    }
    return decode(df, path, role, packedAs);
  }

  public static JavaRDD<Token> decode(Dataset<Row> df, String name, TableRole role, VectorEncoding packedAs) {
    StructType schema = df.schema();
    List<String> missing = new ArrayList<>();
    List<String> required = new ArrayList<>(List.of(DOC_ID, HEAD, POS));
    required.addAll(role.vectorColumns());
    for (String c : required) {
      if (!List.of(schema.fieldNames()).contains(c)) {
        missing.add(c);
      }
    }
    if (!missing.isEmpty()) {
      throw new InputException("table '" + name + "' is missing column(s) " + String.join(", ", missing)
          + " (it has " + String.join(", ", schema.fieldNames()) + "; expected doc_id string, head int, pos long, "
          + String.join(", ", role.vectorColumns()) + " array<float> or packed binary)");
    }
    checkType(schema, name, HEAD, true);
    checkType(schema, name, POS, true);
    List<Column> cols = new ArrayList<>(List.of(df.col(DOC_ID).cast("string"), df.col(HEAD).cast("int"),
        df.col(POS).cast("long")));
    boolean[] packed = new boolean[3];
    String[] vectorNames = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
      String c = vectorNames[i];
      if (!role.has(c)) {
        continue;
      }
      DataType t = schema.apply(c).dataType();
      if (t instanceof BinaryType) {
        if (!packedAs.packed()) {
          throw new InputException("table '" + name + "' column '" + c + "' is binary: say how it is packed"
              + " with --packed fp32|fp16|bf16");
        }
        packed[i] = true;
        cols.add(df.col(c));
      } else if (t instanceof ArrayType && ((ArrayType) t).elementType() instanceof NumericType) {
        cols.add(df.col(c).cast(DataTypes.createArrayType(DataTypes.FloatType, true)));
      } else {
        throw new InputException("table '" + name + "' column '" + c + "' has type " + t.simpleString()
            + " (expected array<float> or binary)");
      }
    }
    List<String> present = role.vectorColumns();
    return df.select(cols.toArray(new Column[0])).javaRDD()
        .map(row -> toToken(row, present, packed, packedAs));
  }

  private static void checkType(StructType schema, String name, String column, boolean numeric) {
    DataType t = schema.apply(column).dataType();
    if (numeric && !(t instanceof NumericType)) {
      throw new InputException("table '" + name + "' column '" + column + "' has type " + t.simpleString()
          + " (expected an integer type)");
    }
  }

  private static Token toToken(Row row, List<String> present, boolean[] packed, VectorEncoding packedAs) {
    String docId = row.isNullAt(0) ? null : row.getString(0);
    String problem = null;
    if (docId == null || row.isNullAt(1) || row.isNullAt(2)) {
      return new Token(docId == null ? "<null>" : docId, row.isNullAt(1) ? -1 : row.getInt(1),
          row.isNullAt(2) ? -1 : row.getLong(2), null, null, null, "null doc_id, head or pos");
    }
    float[][] vectors = new float[3][];
    String[] columnProblem = new String[1];
    int field = 3;
    String[] names = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
      if (!present.contains(names[i])) {
        continue;
      }
      if (row.isNullAt(field)) {
        problem = problem != null ? problem : "column '" + names[i] + "' is null";
      } else if (packed[i]) {
        vectors[i] = packedAs.decode((byte[]) row.get(field), columnProblem);
        if (vectors[i] == null && problem == null) {
          problem = "column '" + names[i] + "': " + columnProblem[0];
        }
      } else {
        List<Object> values = row.getList(field);
        float[] x = new float[values.size()];
        for (int j = 0; j < x.length; j++) {
          Object value = values.get(j);
          if (value == null) {
            problem = problem != null ? problem : "column '" + names[i] + "' has a null element at index " + j;
            break;
          }
          x[j] = (Float) value;
        }
        vectors[i] = x;
      }
      field++;
    }
    return new Token(docId, row.getInt(1), row.getLong(2), vectors[0], vectors[1], vectors[2], problem);
  }

  static String firstLine(Throwable e) {
    String msg = String.valueOf(e.getMessage());
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }
}
