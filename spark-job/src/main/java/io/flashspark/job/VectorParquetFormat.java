package io.flashspark.job;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.execution.datasources.FileFormat;
import org.apache.spark.sql.execution.datasources.OutputWriter;
import org.apache.spark.sql.execution.datasources.OutputWriterFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Option;

/**
 * A Parquet writer for tables of vectors that encodes whole pages instead of one value at a time:
 * Spark's own Parquet writer hands every element of an {@code array<float>} through record
 * consumer, column writer, level encoders and statistics (about 60 ns a value: 8M rows x 128 floats
 * were 64 core-seconds of a 1M-token job's output), while here a row's floats are one copy into the
 * page. Used through Spark's data source API ({@code DataFrameWriter.format(this class)}), so
 * Spark's commit protocol, staging and task retries stay as they are.
 *
 * <p>Files are ordinary Parquet, read by Spark and pyarrow like Spark's own: data pages v1 of about
 * {@code parquet.page.size} (1 MiB) uncompressed, row groups of about {@code parquet.block.size}
 * (128 MiB), compressed with Spark's {@code spark.sql.parquet.compression.codec} (a vector column's
 * chunk is stored uncompressed where its first page does not compress, {@link #STORED_RATIO}: Parquet
 * names the codec per column chunk), Spark's schema in
 * the footer ({@code org.apache.spark.sql.parquet.row.metadata}, which keeps the vector columns'
 * encoding metadata). Only tables whose columns are all non-null scalars (string, int, long,
 * float, double, binary) or non-null {@code array<float>} with non-null elements are written this
 * way ({@link #supports}); the others go through Spark's writer. Layout per column:
 * <pre>
 *   scalar column    required, PLAIN values (strings and binary: int32 length + bytes),
 *                    min/max statistics except for binary (packed vectors: nothing to learn)
 *   array&lt;float&gt;     required group (LIST) { repeated float array } (Parquet's two-level list,
 *                    as TokenTable asks of Spark's writer); repetition levels as two RLE runs
 *                    per row (0, then 1 for the row's other elements), definition levels one run
 *                    per page, values PLAIN; no statistics
 * </pre>
 */
public final class VectorParquetFormat implements FileFormat, Serializable {
  private static final long serialVersionUID = 1L;
  /** The footer key under which Spark keeps a table's schema (with its fields' metadata). */
  static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

  /** Whether {@code schema} can be written by this format (else use Spark's Parquet writer). */
  public static boolean supports(StructType schema) {
    for (StructField f : schema.fields()) {
      if (f.nullable() || kindOf(f.dataType()) == null) {
        return false;
      }
    }
    return schema.fields().length > 0;
  }

  private enum Kind { STRING, BINARY, INT, LONG, FLOAT, DOUBLE, FLOAT_ARRAY }

  private static Kind kindOf(DataType t) {
    if (t instanceof StringType) {
      return Kind.STRING;
    }
    if (t instanceof BinaryType) {
      return Kind.BINARY;
    }
    if (t instanceof IntegerType) {
      return Kind.INT;
    }
    if (t instanceof LongType) {
      return Kind.LONG;
    }
    if (t instanceof FloatType) {
      return Kind.FLOAT;
    }
    if (t instanceof DoubleType) {
      return Kind.DOUBLE;
    }
    if (t instanceof ArrayType a && a.elementType() instanceof FloatType && !a.containsNull()) {
      return Kind.FLOAT_ARRAY;
    }
    return null;
  }

  /** The Parquet schema of {@code schema} (which {@link #supports}). */
  static MessageType parquetSchema(StructType schema) {
    Types.MessageTypeBuilder b = Types.buildMessage();
    for (StructField f : schema.fields()) {
      switch (kindOf(f.dataType())) {
        case STRING -> b.required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(f.name());
        case BINARY -> b.required(PrimitiveTypeName.BINARY).named(f.name());
        case INT -> b.required(PrimitiveTypeName.INT32).named(f.name());
        case LONG -> b.required(PrimitiveTypeName.INT64).named(f.name());
        case FLOAT -> b.required(PrimitiveTypeName.FLOAT).named(f.name());
        case DOUBLE -> b.required(PrimitiveTypeName.DOUBLE).named(f.name());
        case FLOAT_ARRAY -> b.requiredGroup().as(LogicalTypeAnnotation.listType())
            .repeated(PrimitiveTypeName.FLOAT).named("array").named(f.name());
        default -> throw new IllegalArgumentException("unsupported column " + f);
      }
    }
    return b.named("spark_schema");
  }

  @Override
  public Option<StructType> inferSchema(SparkSession spark, scala.collection.immutable.Map<String, String> options,
      scala.collection.immutable.Seq<FileStatus> files) {
    return Option.empty(); // write-only: tables are read back as "parquet"
  }

  @Override
  public OutputWriterFactory prepareWrite(SparkSession spark, Job job,
      scala.collection.immutable.Map<String, String> options, StructType dataSchema) {
    if (!supports(dataSchema)) {
      throw new IllegalArgumentException("VectorParquetFormat cannot write " + dataSchema.simpleString());
    }
    Configuration conf = job.getConfiguration();
    String codec = options.get("compression").getOrElse(
        () -> spark.conf().get("spark.sql.parquet.compression.codec", "snappy")).toLowerCase(java.util.Locale.ROOT);
    return new Factory(dataSchema, CompressionCodecName.fromConf(codec.equals("none") ? "uncompressed" : codec),
        conf.getLong("parquet.block.size", 128L << 20), conf.getInt("parquet.page.size", 1 << 20));
  }

  @Override
  public String toString() {
    return "VectorParquet";
  }

  private static final class Factory extends OutputWriterFactory {
    private static final long serialVersionUID = 1L;
    private final StructType schema;
    private final CompressionCodecName codec;
    private final long rowGroupBytes;
    private final int pageBytes;

    Factory(StructType schema, CompressionCodecName codec, long rowGroupBytes, int pageBytes) {
      this.schema = schema;
      this.codec = codec;
      this.rowGroupBytes = rowGroupBytes;
      this.pageBytes = pageBytes;
    }

    @Override
    public String getFileExtension(TaskAttemptContext context) {
      return codec.getExtension() + ".parquet";
    }

    @Override
    public OutputWriter newInstance(String path, StructType dataSchema, TaskAttemptContext context) {
      try {
        return new Writer(path, schema, codec, rowGroupBytes, pageBytes, context.getConfiguration());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create " + path, e);
      }
    }
  }

  /** One task's file: rows buffered column by column into pages, a row group written at a time. */
  static final class Writer extends OutputWriter {
    private final String path;
    private final StructType schema;
    private final ParquetFileWriter file;
    private final CodecFactory codecs;
    private final CompressionCodecFactory.BytesInputCompressor compressor;
    private final CompressionCodecName codec;
    private final long rowGroupBytes;
    private final Column[] columns;
    private long rows;

    Writer(String path, StructType schema, CompressionCodecName codec, long rowGroupBytes, int pageBytes,
        Configuration conf) throws IOException {
      this.path = path;
      this.schema = schema;
      this.codec = codec;
      this.rowGroupBytes = rowGroupBytes;
      MessageType parquet = parquetSchema(schema);
      this.file = new ParquetFileWriter(conf, parquet, new Path(path), ParquetFileWriter.Mode.CREATE);
      this.codecs = new CodecFactory(conf, pageBytes);
      this.compressor = codecs.getCompressor(codec);
      List<ColumnDescriptor> descriptors = parquet.getColumns();
      this.columns = new Column[schema.fields().length];
      for (int i = 0; i < columns.length; i++) {
        columns[i] = new Column(kindOf(schema.fields()[i].dataType()), descriptors.get(i), pageBytes, codec, compressor);
      }
      file.start();
    }

    @Override
    public void write(InternalRow row) {
      for (int i = 0; i < columns.length; i++) {
        columns[i].add(row, i);
      }
      rows++;
      long buffered = 0;
      for (Column c : columns) {
        buffered += c.bufferedBytes();
      }
      if (buffered >= rowGroupBytes) {
        flushRowGroup();
      }
    }

    private void flushRowGroup() {
      if (rows == 0) {
        return;
      }
      try {
        file.startBlock(rows);
        for (Column c : columns) {
          c.writeTo(file);
        }
        file.endBlock();
      } catch (IOException e) {
        throw new UncheckedIOException("writing " + path, e);
      }
      rows = 0;
    }

    @Override
    public void close() {
      try {
        flushRowGroup();
        file.end(Map.of(SPARK_SCHEMA_KEY, schema.json()));
      } catch (IOException e) {
        throw new UncheckedIOException("closing " + path, e);
      } finally {
        codecs.release();
      }
    }

    @Override
    public String path() {
      return path;
    }
  }

  /**
   * A vector column chunk is stored uncompressed where its first page compresses to more than this
   * share of its size.
   */
  static final double STORED_RATIO = 0.9;

  private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  /** A growable byte array. */
  static final class Bytes {
    byte[] data = new byte[1 << 16];
    int size;

    void reserve(int more) {
      if (size + more > data.length) {
        data = Arrays.copyOf(data, Math.max(size + more, data.length * 2));
      }
    }

    void putIntLE(int v) {
      reserve(4);
      INT_LE.set(data, size, v);
      size += 4;
    }

    void putLongLE(long v) {
      reserve(8);
      LONG_LE.set(data, size, v);
      size += 8;
    }

    void putByte(int v) {
      reserve(1);
      data[size++] = (byte) v;
    }

    void putUnsignedVarInt(long v) {
      while ((v & ~0x7FL) != 0) {
        putByte((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      putByte((int) v);
    }

    void put(Object base, long offset, int length) {
      reserve(length);
      Platform.copyMemory(base, offset, data, Platform.BYTE_ARRAY_OFFSET + size, length);
      size += length;
    }

    /** An output stream appending to these bytes. */
    java.io.OutputStream asStream() {
      return new java.io.OutputStream() {
        @Override public void write(int b) {
          putByte(b);
        }

        @Override public void write(byte[] b, int off, int len) {
          put(b, Platform.BYTE_ARRAY_OFFSET + off, len);
        }
      };
    }
  }

  /**
   * A finished page of one column chunk: where its compressed bytes lie in the column's chunk buffer,
   * and what its header says.
   */
  private record Page(int offset, int length, int uncompressedSize, int values, long rows, Statistics<?> stats) {}

  /** One column's current page and the finished pages of the current row group. */
  private static final class Column {
    private final Kind kind;
    private final ColumnDescriptor descriptor;
    private final int pageBytes;
    private final CompressionCodecName codec;
    private final CompressionCodecFactory.BytesInputCompressor compressor;
    private final Bytes values = new Bytes();
    private final Bytes repetition = new Bytes(); // FLOAT_ARRAY: RLE runs, two per row
    private final Bytes definition = new Bytes(); // FLOAT_ARRAY: one run per page
    private final List<Page> pages = new ArrayList<>();
    // the current row group's compressed pages, back to back; reused from row group to row group (a fresh
    // array per page was a tenth of the writing tasks' time on one H100, zeroed and faulted in each time)
    private final Bytes compressedPages = new Bytes();
    // the current chunk's codec, settled by its first page: vector columns whose first page does not
    // compress to STORED_RATIO of its size are stored as they are (random-looking floats: snappy saves
    // nothing, yet costs a pass to write and another to read back)
    private CompressionCodecName chunkCodec;
    private Statistics<?> stats;
    private UTF8String lastStatString; // STRING: the last value added to this page's statistics
    private int pageValues;
    private long pageRows;

    Column(Kind kind, ColumnDescriptor descriptor, int pageBytes, CompressionCodecName codec,
        CompressionCodecFactory.BytesInputCompressor compressor) {
      this.kind = kind;
      this.codec = codec;
      this.descriptor = descriptor;
      this.pageBytes = pageBytes;
      this.compressor = compressor;
      this.stats = newStats();
    }

    private Statistics<?> newStats() {
      return Statistics.createStats(descriptor.getPrimitiveType());
    }

    long bufferedBytes() {
      return compressedPages.size + values.size + repetition.size;
    }

    @SuppressWarnings("unchecked")
    void add(InternalRow row, int field) {
      switch (kind) {
        case STRING -> {
          UTF8String s = row.getUTF8String(field);
          values.putIntLE(s.numBytes());
          values.put(s.getBaseObject(), s.getBaseOffset(), s.numBytes());
          // a page holds long runs of one doc id: min/max change only with the value
          if (lastStatString == null || !lastStatString.equals(s)) {
            lastStatString = s.clone(); // s may be a view into a buffer the caller reuses
            ((Statistics<Binary>) stats).updateStats(Binary.fromConstantByteArray(lastStatString.getBytes()));
          }
          pageValues++;
        }
        case BINARY -> {
          UTF8String b = TokenTable.binaryView(row, field); // where the row holds them: no array per value
          values.putIntLE(b.numBytes());
          values.put(b.getBaseObject(), b.getBaseOffset(), b.numBytes());
          pageValues++; // packed vectors: no statistics
        }
        case INT -> {
          int v = row.getInt(field);
          values.putIntLE(v);
          stats.updateStats(v);
          pageValues++;
        }
        case LONG -> {
          long v = row.getLong(field);
          values.putLongLE(v);
          stats.updateStats(v);
          pageValues++;
        }
        case FLOAT -> {
          float v = row.getFloat(field);
          values.putIntLE(Float.floatToRawIntBits(v));
          stats.updateStats(v);
          pageValues++;
        }
        case DOUBLE -> {
          double v = row.getDouble(field);
          values.putLongLE(Double.doubleToRawLongBits(v));
          stats.updateStats(v);
          pageValues++;
        }
        case FLOAT_ARRAY -> addFloats(row.getArray(field));
        default -> throw new IllegalStateException(kind.toString());
      }
      pageRows++;
      if (values.size + repetition.size >= pageBytes) {
        finishPage();
      }
    }

    private void addFloats(ArrayData array) {
      int n = array.numElements();
      if (n == 0) {
        throw new IllegalArgumentException("VectorParquetFormat writes non-empty float arrays only");
      }
      if (array instanceof UnsafeArrayData u && LITTLE_ENDIAN) {
        values.put(u.getBaseObject(), u.getBaseOffset() + UnsafeArrayData.calculateHeaderPortionInBytes(n), 4 * n);
      } else {
        values.reserve(4 * n);
        for (int j = 0; j < n; j++) {
          values.putIntLE(Float.floatToRawIntBits(array.getFloat(j)));
        }
      }
      // repetition levels: the row's first element starts a record (0), the others repeat (1)
      repetition.putUnsignedVarInt(1L << 1);
      repetition.putByte(0);
      if (n > 1) {
        repetition.putUnsignedVarInt((long) (n - 1) << 1);
        repetition.putByte(1);
      }
      pageValues += n;
    }

    private void finishPage() {
      if (pageRows == 0) {
        return;
      }
      // the page handed to the compressor as the pieces it is made of, not copied into one array first
      BytesInput payload = BytesInput.from(values.data, 0, values.size);
      BytesInput page = payload;
      if (kind == Kind.FLOAT_ARRAY) {
        // data page v1: each level section is an RLE/bit-packed hybrid stream (bit width 1) after
        // its little-endian byte length; every element is present, so the definition levels are
        // one run of 1
        definition.size = 0;
        definition.putUnsignedVarInt((long) pageValues << 1);
        definition.putByte(1);
        page = BytesInput.concat(BytesInput.fromInt(repetition.size), BytesInput.from(repetition.data, 0, repetition.size),
            BytesInput.fromInt(definition.size), BytesInput.from(definition.data, 0, definition.size), payload);
      }
      int uncompressedSize = Math.toIntExact(page.size());
      int offset = compressedPages.size;
      try {
        if (chunkCodec == CompressionCodecName.UNCOMPRESSED) {
          compressedPages.reserve(uncompressedSize);
          page.writeAllTo(compressedPages.asStream());
        } else {
          BytesInput compressed = compressor.compress(page); // the compressor's own buffer: copied out at once
          if (chunkCodec == null) {
            boolean vectors = kind == Kind.FLOAT_ARRAY || kind == Kind.BINARY;
            chunkCodec = vectors && compressed.size() > STORED_RATIO * uncompressedSize
                ? CompressionCodecName.UNCOMPRESSED : codec;
          }
          BytesInput stored = chunkCodec == CompressionCodecName.UNCOMPRESSED ? page : compressed;
          compressedPages.reserve(Math.toIntExact(stored.size()));
          stored.writeAllTo(compressedPages.asStream());
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      int length = compressedPages.size - offset;
      // vector columns get empty page statistics: Parquet then writes neither min/max nor a column
      // index for the chunk (a page index of empty statistics would call the pages all null)
      pages.add(new Page(offset, length, uncompressedSize, pageValues, pageRows, kind == Kind.FLOAT_ARRAY || kind == Kind.BINARY
          ? Statistics.getBuilderForReading(descriptor.getPrimitiveType()).build() : stats));
      values.size = 0;
      repetition.size = 0;
      pageValues = 0;
      pageRows = 0;
      stats = newStats();
      lastStatString = null;
    }

    void writeTo(ParquetFileWriter file) throws IOException {
      finishPage();
      long valueCount = 0;
      for (Page p : pages) {
        valueCount += p.values();
      }
      file.startColumn(descriptor, valueCount, chunkCodec == null ? codec : chunkCodec);
      for (Page p : pages) {
        file.writeDataPage(p.values(), p.uncompressedSize(), BytesInput.from(compressedPages.data, p.offset(), p.length()),
            p.stats(), p.rows(), Encoding.RLE, Encoding.RLE, Encoding.PLAIN);
      }
      file.endColumn();
      pages.clear();
      compressedPages.size = 0;
      chunkCodec = null;
    }
  }
}
