package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The output table: {@code doc_id string, head int, pos long, o, lse double}, one row per query
 * token. {@code o} is {@code array<float>} ({@code --output-format array}, the default) or packed
 * {@code binary}, little-endian fp32 or bf16 values with the encoding recorded in the column's
 * metadata as for packed inputs ({@code --output-format fp32|bf16}). A row that saw no key has
 * {@code lse = -Infinity} and {@code o} all zeros.
 */
public final class OutputTable {
  /** The default form, {@code o array<float>}. */
  public static final StructType SCHEMA = schema(VectorEncoding.ARRAY);

  private OutputTable() {}

  /** The output formats {@code --output-format} accepts. */
  public static VectorEncoding parseFormat(String name) {
    VectorEncoding format = VectorEncoding.parse(name);
    if (format == VectorEncoding.FP16) {
      throw new InputException("--output-format must be array, fp32 or bf16, got " + name);
    }
    return format;
  }

  public static StructType schema(VectorEncoding format) {
    List<StructField> fields = new ArrayList<>(List.of(
        DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, false),
        DataTypes.createStructField(TokenTable.HEAD, DataTypes.IntegerType, false),
        DataTypes.createStructField(TokenTable.POS, DataTypes.LongType, false)));
    // o is never null: a non-null column in either form, which VectorParquetFormat writes page by page
    fields.add(format.packed()
        ? DataTypes.createStructField("o", DataTypes.BinaryType, false, TokenTable.vectorField("o", format).metadata())
        : DataTypes.createStructField("o", DataTypes.createArrayType(DataTypes.FloatType, false), false));
    fields.add(DataTypes.createStructField("lse", DataTypes.DoubleType, false));
    return DataTypes.createStructType(fields);
  }

  /** Refuses a table that is not a score output (bad input to {@code check}). */
  static void checkSchema(Dataset<Row> table, String name) {
    List<String> have = List.of(table.schema().fieldNames());
    List<String> missing = new ArrayList<>();
    for (String c : SCHEMA.fieldNames()) {
      if (!have.contains(c)) {
        missing.add(c);
      }
    }
    if (!missing.isEmpty()) {
      throw new InputException("output table '" + name + "' is missing column(s) " + String.join(", ", missing)
          + " (a score output has " + String.join(", ", SCHEMA.fieldNames()) + ")");
    }
  }

  /**
   * How a score output stores {@code o}: array, or the encoding recorded for a binary column
   * (bad input when a binary column records none).
   */
  static VectorEncoding format(StructType schema, String table) {
    StructField o = schema.apply("o");
    if (!(o.dataType() instanceof org.apache.spark.sql.types.BinaryType)) {
      return VectorEncoding.ARRAY;
    }
    if (!o.metadata().contains(TokenTable.ENCODING_KEY)) {
      throw new InputException("output table '" + table + "' column 'o' is binary but records no encoding");
    }
    return VectorEncoding.parse(o.metadata().getString(TokenTable.ENCODING_KEY));
  }

  /** Column {@code o} of an output row as floats, whatever the format; null when malformed. */
  static float[] outputVector(Row row, VectorEncoding format) {
    int i = row.fieldIndex("o");
    if (format.packed()) {
      return format.decode((byte[]) row.get(i), new String[1]);
    }
    List<Object> values = row.getList(i);
    float[] out = new float[values.size()];
    for (int c = 0; c < out.length; c++) {
      Object x = values.get(c);
      out[c] = x == null ? Float.NaN : (Float) x;
    }
    return out;
  }

  /** The output rows of merged block partials ({@link BlockPartial#SCHEMA}), in {@code format}. */
  public static Dataset<Row> fromBlocks(Dataset<Row> blocks, VectorEncoding format) {
    StructType schema = schema(format);
    Dataset<Row> rows = blocks.mapPartitions(new Expand(format), Encoders.row(schema));
    // a map's output schema drops field metadata: name o's encoding again, so Parquet records it
    StructField o = schema.apply("o");
    return rows.withColumn("o", rows.col("o").as("o", o.metadata()));
  }

  /** The rows of one merged block. */
  public static List<Row> rows(BlockKey key, BlockPartial merged, VectorEncoding format) {
    Partial p = merged.partial();
    List<Row> rows = new ArrayList<>(p.rows());
    for (int r = 0; r < p.rows(); r++) {
      float[] o = p.outputRow(r);
      rows.add(RowFactory.create(key.docHead().docId(), key.docHead().head(), merged.pos()[r],
          format.packed() ? format.encode(o) : o, p.lse(r)));
    }
    return rows;
  }

  /** Block partials to token rows, a block at a time. */
  private static final class Expand implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final VectorEncoding format;

    Expand(VectorEncoding format) {
      this.format = format;
    }

    @Override public Iterator<Row> call(Iterator<Row> blocks) {
      return new CellRouter.Expanding<>(blocks, b -> rows(BlockPartial.key(b), BlockPartial.of(b), format));
    }
  }
}
