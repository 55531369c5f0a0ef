package io.flashspark.job;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ColumnarBatchRow;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The token tables (Parquet): {@code doc_id string, head int, pos long} and the role's vector
 * columns {@code q, k, v}, each {@code array<float>} or packed {@code binary} (see
 * {@link VectorEncoding}). Checks the schema on the driver and selects the columns a role needs;
 * {@link Fragments} packs them.
 */
public final class TokenTable {
  public static final String DOC_ID = "doc_id";
  public static final String HEAD = "head";
  public static final String POS = "pos";

  private TokenTable() {}

  /**
   * A binary field's bytes where the row holds them, as a view (base object, offset, length): a
   * Tungsten row's field is read through its offset-and-size word, a column batch's row in the
   * batch's byte vector, both without copying (packed vectors are copied once, into their block or
   * Parquet page); other rows give their array.
   */
  static UTF8String binaryView(InternalRow row, int field) {
    return row instanceof UnsafeRow || row instanceof ColumnarBatchRow || row instanceof ParquetTokens.View
        ? row.getUTF8String(field)
        : UTF8String.fromBytes(row.getBinary(field));
  }

  /**
   * The Spark schema of a token table. A packed vector column records its encoding in its field
   * metadata ({@value #ENCODING_KEY}), which Spark keeps in the Parquet footer's key-value metadata
   * ({@code org.apache.spark.sql.parquet.row.metadata}), so readers need no {@code --packed}.
   */
  public static StructType schema(VectorEncoding encoding, List<String> vectorColumns) {
    List<StructField> fields = new ArrayList<>();
    fields.add(DataTypes.createStructField(DOC_ID, DataTypes.StringType, false));
    fields.add(DataTypes.createStructField(HEAD, DataTypes.IntegerType, false));
    fields.add(DataTypes.createStructField(POS, DataTypes.LongType, false));
    for (String c : vectorColumns) {
      fields.add(vectorField(c, encoding));
    }
    return DataTypes.createStructType(fields);
  }

  /** Field metadata key of a packed column's encoding (fp32, fp16, bf16). */
  public static final String ENCODING_KEY = "flashspark.encoding";

  /** A vector column: {@code array<float>}, or binary with its encoding recorded. */
  public static StructField vectorField(String name, VectorEncoding encoding) {
    if (!encoding.packed()) {
      return DataTypes.createStructField(name, DataTypes.createArrayType(DataTypes.FloatType, true), true);
    }
    Metadata meta = new MetadataBuilder().putString(ENCODING_KEY, encoding.label()).build();
    return DataTypes.createStructField(name, DataTypes.BinaryType, true, meta);
  }

  /**
   * A Parquet writer for a table of vectors (tokens or outputs): dictionary encoding off for the
   * vector columns ({@code array<float>} elements and packed binary) and {@code lse}. Their values
   * are all distinct, so Parquet would fill a dictionary of every float, give up and rewrite the
   * page plain: half the output writing's time in a profile (a 512 x 1k x d128 score on the CPU).
   * Min/max statistics are off for the vector columns too: over all the elements of every vector
   * they tell a reader nothing, yet Parquet compares each value with both (on the GPU host, 40 % of
   * the 1M-token job's output writing in a profile). doc_id, head, pos and lse keep their statistics,
   * and the first three their dictionary and run-length encodings.
   */
  private static DataFrameWriter<Row> parquetWriter(Dataset<Row> table) {
    DataFrameWriter<Row> w = table.write();
    for (StructField f : table.schema().fields()) {
      if (f.dataType() instanceof ArrayType) {
        // the element's column path: standard three-level lists, and the legacy two-level ones
        for (String element : List.of(f.name() + ".list.element", f.name() + ".array")) {
          w = w.option("parquet.enable.dictionary#" + element, "false")
              .option("parquet.column.statistics.enabled#" + element, "false");
        }
      } else if (f.dataType() instanceof BinaryType) {
        w = w.option("parquet.enable.dictionary#" + f.name(), "false")
            .option("parquet.column.statistics.enabled#" + f.name(), "false");
      } else if (f.dataType() instanceof DoubleType) {
        w = w.option("parquet.enable.dictionary#" + f.name(), "false");
      }
    }
    return w;
  }

  /**
   * Writes a table of vectors ({@code mode}: a save mode, or null for the default, error if it
   * exists): through {@link VectorParquetFormat} when it can write the table (non-null scalars and
   * float arrays, as the job's output), else with {@link #parquetWriter}. Arrays of non-null
   * floats go in Parquet's two-level list layout ({@code spark.sql.parquet.writeLegacyFormat} for this write
   * only): one repeated float per element instead of a group around each, which Spark's writer
   * costs a third less time (1M rows x 128 floats on 2 cores: 5.6 s -> 3.8 s); Spark, pyarrow and
   * other readers take both layouts as the same {@code array<float>}. Tables with an array that may
   * hold nulls keep the standard layout (the legacy one would wrap each element in a group).
   */
  public static void writeParquet(Dataset<Row> table, String path, String mode) {
    if (VectorParquetFormat.supports(table.schema())) { // the job's output: pages encoded whole
      DataFrameWriter<Row> w = table.write().format(VectorParquetFormat.class.getName());
      (mode == null ? w : w.mode(mode)).save(path);
      return;
    }
    StructField[] fields = table.schema().fields();
    boolean arrays = java.util.Arrays.stream(fields).anyMatch(f -> f.dataType() instanceof ArrayType)
        && java.util.Arrays.stream(fields).noneMatch(f -> f.dataType() instanceof ArrayType a && a.containsNull());
    java.util.function.Supplier<Void> write = () -> {
      DataFrameWriter<Row> w = parquetWriter(table);
      (mode == null ? w : w.mode(mode)).parquet(path);
      return null;
    };
    if (arrays) {
      SessionSettings.with(table.sparkSession(), "spark.sql.parquet.writeLegacyFormat", "true", write);
    } else {
      write.get();
    }
  }

  /**
   * The Hadoop configuration Spark reads and writes the session's files with: the context's, plus
   * the settings given to the session at run time ({@code spark.conf().set("fs.s3a....", ...)} in
   * a notebook), which the context's own lacks.
   */
  static org.apache.hadoop.conf.Configuration hadoopConf(SparkSession spark) {
    return ((org.apache.spark.sql.classic.SparkSession) spark).sessionState().newHadoopConf();
  }

  /**
   * Opens a Parquet table. A path that does not exist or holds no Parquet is bad input (exit 2);
   * other failures (I/O, permissions, the cluster) are not.
   */
  public static Dataset<Row> open(SparkSession spark, String path, String role) {
    try {
      Path p = new Path(path);
      if (!p.getFileSystem(hadoopConf(spark)).exists(p)) {
        // Spark's reader would expand a glob; the job's guards and its own file readers take one table
        throw new InputException(role + " table '" + path + "' does not exist" + (path.matches(".*[*?\\[{].*")
            ? " (a glob pattern is not taken: give the table's directory, or one of its files)" : ""));
      }
    } catch (IOException | IllegalArgumentException e) {
      throw new InputException("bad " + role + " path '" + path + "': " + Failures.firstLine(e));
    }
    try {
      java.util.Optional<StructType> stored = StoredSchema.of(spark, path); // no schema-inference job
      return stored.isPresent() ? spark.read().schema(stored.get()).parquet(path) : spark.read().parquet(path);
    } catch (RuntimeException e) {
      if (((Throwable) e) instanceof AnalysisException || Failures.isNotParquet(e)) {
        throw new InputException(role + " table '" + path + "' is not a readable Parquet table: "
            + Failures.firstLine(e));
      }
      throw e;
    }
  }

  /**
   * A checked token table as {@code doc_id string, head long, pos long} and the role's vector
   * columns (binary as stored, or {@code array<float>}), with each vector column's encoding
   * ({@code encodings[i]} for q, k, v; null where the role lacks it).
   */
  public record Columns(Dataset<Row> rows, VectorEncoding[] encodings) {
    public VectorEncoding encoding(String column) {
      return encodings["qkv".indexOf(column)];
    }
  }

  /**
   * Checks a token table's schema on the driver and selects the columns a role needs.
   *
   * <p>Types: {@code doc_id} string (integer ids are converted to their decimal string);
   * {@code head} and {@code pos} integer types only (a fractional type is refused; an int64
   * {@code head} outside the int32 range is reported per row); vectors {@code array<float>}
   * (other numeric element types are converted to fp32, rounding to nearest, the precision the
   * kernels read) or packed {@code binary}. A binary column's encoding is the one recorded in the
   * table; {@code packedAs} (from {@code --packed}) must agree with it, and is required where the
   * table records none.
   */
  public static Columns columns(Dataset<Row> df, String name, TableRole role, VectorEncoding packedAs) {
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
    DataType docType = schema.apply(DOC_ID).dataType();
    if (!(docType instanceof StringType) && !isInteger(docType)) {
      throw new InputException("table '" + name + "' column 'doc_id' has type " + docType.simpleString()
          + " (expected string, or an integer type)");
    }
    for (String c : List.of(HEAD, POS)) {
      DataType t = schema.apply(c).dataType();
      if (!isInteger(t)) {
        throw new InputException("table '" + name + "' column '" + c + "' has type " + t.simpleString()
            + " (expected an integer type; fractional values would be truncated, so cast them yourself)");
      }
    }
    List<Column> cols = new ArrayList<>(List.of(df.col(DOC_ID).cast("string").as(DOC_ID),
        df.col(HEAD).cast("long").as(HEAD), df.col(POS).cast("long").as(POS)));
    VectorEncoding[] encodings = new VectorEncoding[3];
    String[] vectorNames = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
      String c = vectorNames[i];
      if (!role.has(c)) {
        continue;
      }
      StructField field = schema.apply(c);
      DataType t = field.dataType();
      if (t instanceof BinaryType) {
        encodings[i] = packedEncoding(field, name, packedAs);
        cols.add(df.col(c));
      } else if (t instanceof ArrayType && ((ArrayType) t).elementType() instanceof NumericType) {
        encodings[i] = VectorEncoding.ARRAY;
        cols.add(df.col(c).cast(DataTypes.createArrayType(DataTypes.FloatType, true)).as(c));
      } else {
        throw new InputException("table '" + name + "' column '" + c + "' has type " + t.simpleString()
            + " (expected array<float> or binary)");
      }
    }
    return new Columns(df.select(cols.toArray(new Column[0])), encodings);
  }

  /**
   * The head dimension of a checked table ({@link #columns}): the length of the first non-null
   * vector of its first vector column, read from one row (its first Parquet row group), so the job
   * can plan before it reads the vectors. Every other vector is held to it as it is packed
   * ({@link Fragments}); -1 for a table without a non-null vector (reported as it is packed).
   */
  static int headDimension(Columns cols, String name) {
    return headDimension(cols, name, java.util.Optional.empty(), null);
  }

  /**
   * {@link #headDimension(Columns, String)}, for a packed column of a Parquet table ({@code scan}
   * present) from its files, without a Spark job ({@link FirstPackedValue}) where they hold it.
   */
  static int headDimension(Columns cols, String name, java.util.Optional<ColumnarScan.Tokens> scan,
      org.apache.hadoop.conf.Configuration conf) {
    int column = 0;
    while (cols.encodings()[column] == null) {
      column++;
    }
    VectorEncoding encoding = cols.encodings()[column];
    String columnName = String.valueOf("qkv".charAt(column));
    java.util.OptionalInt fromFiles = encoding.packed()
        ? scan.map(s -> FirstPackedValue.length(s, columnName, conf)).orElse(java.util.OptionalInt.empty())
        : java.util.OptionalInt.empty();
    List<Row> first = List.of();
    if (fromFiles.isEmpty()) {
      Dataset<Row> rows = cols.rows();
      Column vector = rows.col(columnName);
      first = Progress.described(rows.sparkSession(), "reading the head dimension (one vector of " + name + ")",
          () -> rows.select(vector).where(vector.isNotNull()).limit(1).collectAsList());
      if (first.isEmpty()) {
        return -1;
      }
    }
    String where = "table '" + name + "' column '" + columnName + "'";
    int dim;
    if (encoding.packed()) {
      int bytes = fromFiles.isPresent() ? fromFiles.getAsInt() : ((byte[]) first.get(0).get(0)).length;
      if (bytes % encoding.bytesPerValue() != 0) {
        throw new InputException(where + ": its first packed " + encoding.label() + " value of " + bytes
            + " bytes is not a whole number of " + encoding.bytesPerValue() + "-byte values");
      }
      dim = bytes / encoding.bytesPerValue();
    } else {
      dim = first.get(0).getList(0).size();
    }
    if (dim == 0) {
      throw new InputException(where + ": its first vector has length 0");
    }
    return dim;
  }

  /** The encoding of a binary vector column: recorded in the table, declared, and never in conflict. */
  static VectorEncoding packedEncoding(StructField field, String table, VectorEncoding declared) {
    VectorEncoding recorded = field.metadata().contains(ENCODING_KEY)
        ? VectorEncoding.parse(field.metadata().getString(ENCODING_KEY)) : null;
    String where = "table '" + table + "' column '" + field.name() + "'";
    if (recorded != null && declared != null && recorded != declared) {
      throw new InputException(where + " is packed " + recorded.label() + " (recorded in the table) but --packed "
          + declared.label() + " was given; drop --packed or give --packed " + recorded.label());
    }
    if (recorded == null && declared == null) {
      throw new InputException(where + " is binary and the table does not record how it is packed: say it with"
          + " --packed fp32|fp16|bf16");
    }
    return recorded != null ? recorded : declared;
  }

  private static boolean isInteger(DataType t) {
    return t instanceof IntegerType || t instanceof LongType || t instanceof ShortType || t instanceof ByteType
        || (t instanceof DecimalType && ((DecimalType) t).scale() == 0 && ((DecimalType) t).precision() <= 18);
  }
}
