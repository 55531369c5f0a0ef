package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeArrayWriter;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

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

  /** The output rows of block partials ({@link BlockPartial#SCHEMA}, each its block's whole result), in {@code format}. */
  public static Dataset<Row> fromBlocks(Dataset<Row> blocks, VectorEncoding format) {
    JavaRDD<CellTask.Computed> computed = SessionSettings.lazyRdd(blocks)
        .map(b -> new CellTask.Computed(BlockPartial.key(b), BlockPartial.of(b), true));
    return fromComputed(computed, format, (org.apache.spark.sql.classic.SparkSession) blocks.sparkSession());
  }

  /**
   * The output rows of computed query blocks (each its block's whole result), in {@code format}:
   * Tungsten rows written in place from each block's partial ({@link Rows}), where a
   * {@link BlockPartial} row would be encoded, decoded and expanded through Java rows first (about
   * seven copies of every output value on its way to the page, against two).
   */
  static Dataset<Row> fromComputed(JavaRDD<CellTask.Computed> computed, VectorEncoding format,
      org.apache.spark.sql.classic.SparkSession session) {
    JavaRDD<InternalRow> rows = computed.mapPartitions(blocks -> new Rows(blocks, format))
        .setName("flashspark output rows" + (computed.rdd().name() == null ? "" : " of " + computed.rdd().name()));
    // the schema as given (o's encoding in its metadata, which Parquet records): no projection after
    return session.internalCreateDataFrame(rows.rdd(), schema(format), false);
  }

  /** The output rows of blocks merged on the driver, as a local table. */
  static Dataset<Row> local(Map<BlockKey, BlockPartial> merged, VectorEncoding format,
      org.apache.spark.sql.classic.SparkSession session) {
    List<InternalRow> rows = new ArrayList<>();
    Rows expanded = new Rows(merged.entrySet().stream()
        .map(e -> new CellTask.Computed(e.getKey(), e.getValue(), true)).iterator(), format);
    expanded.forEachRemaining(r -> rows.add(r.copy()));
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(session.sparkContext());
    return session.internalCreateDataFrame(jsc.parallelize(rows, Math.max(1, Math.min(rows.size(),
        session.sparkContext().defaultParallelism()))).rdd(), schema(format), false);
  }

  /**
   * Output rows of computed blocks, one per query row, each written in place into one reused
   * Tungsten row (valid until the next, as Spark's own operators hand rows on): doc id, head,
   * position, {@code o} (the row's floats, or zeros for a row that saw no key) and lse.
   */
  static final class Rows implements Iterator<InternalRow> {
    private final Iterator<CellTask.Computed> blocks;
    private final VectorEncoding format;
    private final UnsafeRowWriter writer = new UnsafeRowWriter(5, 1024);
    private final UnsafeArrayWriter array = new UnsafeArrayWriter(writer, Float.BYTES);
    private byte[] packed = new byte[0];
    private CellTask.Computed block;
    private UTF8String docId;
    private int next;

    Rows(Iterator<CellTask.Computed> blocks, VectorEncoding format) {
      this.blocks = blocks;
      this.format = format;
    }

    @Override public boolean hasNext() {
      while ((block == null || next >= block.block().partial().rows()) && blocks.hasNext()) {
        block = blocks.next();
        docId = UTF8String.fromString(block.key().docHead().docId());
        next = 0;
      }
      return block != null && next < block.block().partial().rows();
    }

    @Override public InternalRow next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      int r = next++;
      Partial p = block.block().partial();
      int dim = p.dim();
      boolean empty = p.isEmptyRow(r);
      float[] o = p.o();
      int from = r * dim;
      writer.reset();
      writer.zeroOutNullBytes();
      writer.write(0, docId);
      writer.write(1, block.key().docHead().head());
      writer.write(2, block.block().pos()[r]);
      if (format.packed()) {
        int bytes = dim * format.bytesPerValue();
        if (packed.length < bytes) {
          packed = new byte[bytes];
        }
        if (empty) {
          java.util.Arrays.fill(packed, 0, bytes, (byte) 0);
        } else {
          format.encode(o, from, dim, packed);
        }
        writer.write(3, packed, 0, bytes);
      } else {
        int start = writer.cursor();
        array.initialize(dim);
        for (int c = 0; c < dim; c++) {
          array.write(c, empty ? 0f : o[from + c]);
        }
        writer.setOffsetAndSizeFromPreviousCursor(3, start);
      }
      writer.write(4, p.lse(r));
      return writer.getRow();
    }
  }
}
