package io.flashspark.job;

import java.io.IOException;
import java.util.List;
import java.util.OptionalInt;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnReader;
import org.apache.parquet.column.impl.ColumnReadStoreImpl;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.Converter;
import org.apache.parquet.io.api.GroupConverter;
import org.apache.parquet.io.api.PrimitiveConverter;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;

/**
 * The byte length of a packed vector column's first non-null value, read by the driver from the
 * scan's Parquet files with parquet-mr's column reader (that column's chunk of the first row group
 * holding a value, no other column), so the job learns its head dimension without a Spark job: on
 * a 2-core machine that job, the first of a fresh session, took 1.2 s of the 2.2 s a 32k-token
 * job spent before planning.
 *
 * <p>Any value will do, as with Spark's {@code limit(1)}: every other vector is held to it while it
 * is packed. Empty (the caller runs the job) where the files do not hold the column as a plain
 * top-level {@code binary}, cannot be read, or hold no non-null value.
 */
final class FirstPackedValue {
  private FirstPackedValue() {}

  static OptionalInt length(ColumnarScan.Tokens scan, String column, Configuration conf) {
    List<FilePartition> partitions = FooterCounts.filePartitions(scan.batches());
    if (partitions == null) {
      return OptionalInt.empty();
    }
    try {
      for (FilePartition partition : partitions) {
        for (PartitionedFile file : partition.files()) {
          OptionalInt length = firstIn(file, column, conf);
          if (length.isPresent()) {
            return length;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      return OptionalInt.empty(); // unreadable or unexpected: the job reads (and reports) it
    }
    return OptionalInt.empty();
  }

  /** The first non-null value's length in the row groups of the file's split, or empty. */
  private static OptionalInt firstIn(PartitionedFile file, String column, Configuration conf) throws IOException {
    try (ParquetFileReader reader = openSplit(file, conf)) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      if (!schema.containsField(column)) {
        return OptionalInt.empty();
      }
      Type field = schema.getType(column);
      if (!field.isPrimitive() || field.asPrimitiveType().getPrimitiveTypeName() != PrimitiveTypeName.BINARY
          || field.isRepetition(Type.Repetition.REPEATED)) {
        return OptionalInt.empty();
      }
      MessageType projection = new MessageType(schema.getName(), field);
      reader.setRequestedSchema(projection);
      String createdBy = reader.getFooter().getFileMetaData().getCreatedBy();
      PageReadStore rowGroup;
      while ((rowGroup = reader.readNextRowGroup()) != null) {
        RowGroupColumns values = new RowGroupColumns(rowGroup, projection, createdBy);
        for (long i = rowGroup.getRowCount(); i > 0; i--) {
          if (!values.isNull(0)) {
            return OptionalInt.of(values.binary(0).length());
          }
          values.consume(); // a null: no value to skip
        }
      }
    }
    return OptionalInt.empty();
  }

  /**
   * A reader of the row groups of the file's split, as Spark's reader assigns them (those whose
   * middle lies in the split's byte range); also {@link KeyColumnCounts}.
   */
  static ParquetFileReader openSplit(PartitionedFile file, Configuration conf) throws IOException {
    return openSplit(file, conf, null);
  }

  /** {@link #openSplit(PartitionedFile, Configuration)} reading column chunks into {@code allocator}'s buffers (null: new arrays). */
  static ParquetFileReader openSplit(PartitionedFile file, Configuration conf,
      org.apache.parquet.bytes.ByteBufferAllocator allocator) throws IOException {
    org.apache.parquet.ParquetReadOptions.Builder options = org.apache.parquet.HadoopReadOptions.builder(conf)
        .withRange(file.start(), file.start() + file.length());
    if (allocator != null) {
      options.withAllocator(allocator);
    }
    return ParquetFileReader.open(HadoopInputFile.fromPath(file.toPath(), conf), options.build());
  }

  /**
   * A row group's top-level, non-repeated columns of {@code projection}, in its order, read value by
   * value (also {@link KeyColumnCounts}, {@link ParquetTokens}): each row, ask for each column's value,
   * then {@link #consume} moves every column on.
   */
  static final class RowGroupColumns {
    private final ColumnReader[] readers;
    private final int[] maxDefinition;
    private final boolean[] int64;

    RowGroupColumns(PageReadStore rowGroup, MessageType projection, String createdBy) {
      ColumnReadStoreImpl store = new ColumnReadStoreImpl(rowGroup, IGNORED, projection, createdBy);
      int n = projection.getColumns().size();
      readers = new ColumnReader[n];
      maxDefinition = new int[n];
      int64 = new boolean[n];
      for (int c = 0; c < n; c++) {
        ColumnDescriptor d = projection.getColumns().get(c);
        readers[c] = store.getColumnReader(d);
        maxDefinition[c] = d.getMaxDefinitionLevel();
        int64[c] = d.getPrimitiveType().getPrimitiveTypeName() == PrimitiveTypeName.INT64;
      }
    }

    int size() {
      return readers.length;
    }

    boolean isNull(int column) {
      return readers[column].getCurrentDefinitionLevel() != maxDefinition[column];
    }

    /** An INT64 column (else INT32). */
    boolean isInt64(int column) {
      return int64[column];
    }

    /** An integer column's value, widened to long. */
    long integer(int column) {
      return int64[column] ? readers[column].getLong() : readers[column].getInteger();
    }

    Binary binary(int column) {
      return readers[column].getBinary();
    }

    void consume() {
      for (ColumnReader r : readers) {
        r.consume();
      }
    }
  }

  /** The column readers' record assembly, unused: values are read one by one ({@link RowGroupColumns}). */
  static final GroupConverter IGNORED = new GroupConverter() {
    @Override public Converter getConverter(int field) {
      return new PrimitiveConverter() {};
    }

    @Override public void start() {}

    @Override public void end() {}
  };
}
