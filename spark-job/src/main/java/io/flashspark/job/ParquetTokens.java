package io.flashspark.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * A packed token table's scan partition read with parquet-mr's column readers, for the cells that
 * read their input themselves ({@link DirectCells}): each token a row of views over the decoded
 * pages ({@link View}: doc id, head, pos, then the vectors, the packer copying each vector once,
 * into its block), where Spark's vectorized reader first copies every value into column vectors
 * grown for each batch (one warm thread on the development VM: 450-565 MB/s of q/k/v against 280-340
 * MB/s through Spark's reader).
 *
 * <p>Row groups are assigned to the partition's file splits as Spark assigns them (by their middle
 * byte, {@link FirstPackedValue#openSplit}). Given a {@link RowGroupFilter}, a row group whose statistics show one
 * (doc, head) and a range of positions the filter does not need is skipped unread: a scan partition
 * often joins files of several heads (Spark packs file splits into partitions by size, not by key),
 * and a cell's task reading it needs only its own heads' row groups (1M-token x 8-head table as
 * {@code generate} writes it: each partition two files of different heads, so every byte was read,
 * decompressed and packed twice, once by each head's task). Taken only for files that hold the columns as the
 * reader expects them (top-level {@code doc_id} string, {@code head} and {@code pos} signed INT32
 * or INT64 as the scan types them, binary vectors; {@link #readable}); a partition with any other
 * file is read by Spark's reader, as is every partition with {@code -Dflashspark.parquetTokens=false}.
 */
final class ParquetTokens implements Iterator<InternalRow>, ColumnarScan.SameDocId, AutoCloseable {
  private final List<ParquetFileReader> readers; // one per file split, opened (footer read) by of()
  private final List<String> vectors;
  private final View row;
  private final RowGroupFilter filter;
  private int nextFile;
  private ParquetFileReader reader;
  private MessageType projection;
  private String createdBy;
  private FirstPackedValue.RowGroupColumns columns;
  private PageReadStore current; // the row group being read, until its buffers go back to the pool
  private long rowsLeft; // in the current row group
  private List<org.apache.parquet.hadoop.metadata.BlockMetaData> rowGroups; // of the current file's split
  private int nextRowGroup;
  private int skippedRowGroups;
  private long skippedBytes;
  private long rowGroupNanos; // in readNextRowGroup: the file's bytes into column-chunk buffers
  private long rowGroupCpuNanos; // of which on a CPU
  private Binary lastDocId;
  private UTF8String lastDocIdUtf8;
  private boolean sameDocId;

  private ParquetTokens(List<ParquetFileReader> readers, List<String> vectors, RowGroupFilter filter) {
    this.readers = readers;
    this.vectors = vectors;
    this.row = new View(3 + vectors.size());
    this.filter = filter;
  }

  /**
   * Whether a reader needs the rows of a row group that holds {@code docHead} at positions {@code
   * minPos..maxPos} only (some of them, or all); a row group it does not need is skipped unread.
   */
  @FunctionalInterface
  interface RowGroupFilter {
    boolean needs(DocHead docHead, long minPos, long maxPos);
  }

  /** Whether {@code -Dflashspark.parquetTokens} (default true) lets cells read through parquet-mr. */
  static boolean allowed() {
    return Boolean.parseBoolean(System.getProperty("flashspark.parquetTokens", "true"));
  }

  /**
   * The partition's tokens read by parquet-mr, or null where a file does not hold the columns as
   * this reader expects (Spark's reader then reads the partition). {@code intHead}, {@code intPos}:
   * whether the scan types them int (else long); {@code vectors}: the vector columns, in order.
   */
  static ParquetTokens of(FilePartition partition, Configuration conf, boolean intHead, boolean intPos,
      List<String> vectors) {
    return of(partition, conf, intHead, intPos, vectors, null);
  }

  /** As {@link #of(FilePartition, Configuration, boolean, boolean, List)}, skipping the row groups {@code filter} does not need (null: none). */
  static ParquetTokens of(FilePartition partition, Configuration conf, boolean intHead, boolean intPos,
      List<String> vectors, RowGroupFilter filter) {
    if (!allowed()) {
      return null;
    }
    List<ParquetFileReader> readers = new java.util.ArrayList<>(); // kept open: each footer is read once
    try {
      for (PartitionedFile file : partition.files()) {
        if (file.partitionValues().numFields() > 0) {
          closeAll(readers);
          return null; // partition columns come from the paths: Spark's reader adds them
        }
        ParquetFileReader r = FirstPackedValue.openSplit(file, conf, ChunkBuffers.POOL);
        readers.add(r);
        if (!readable(r.getFooter().getFileMetaData().getSchema(), intHead, intPos, vectors)) {
          closeAll(readers);
          return null;
        }
      }
    } catch (IOException | RuntimeException e) {
      closeAll(readers);
      return null; // Spark's reader reads it, and reports what is wrong as it always did
    }
    return new ParquetTokens(readers, vectors, filter);
  }

  private static void closeAll(List<ParquetFileReader> readers) {
    for (ParquetFileReader r : readers) {
      try {
        r.close();
      } catch (IOException e) {
        // only read from: nothing to lose
      }
    }
  }

  /** A file schema this reader takes: the key columns as {@link KeyColumnCounts} reads them, binary vectors. */
  static boolean readable(MessageType schema, boolean intHead, boolean intPos, List<String> vectors) {
    String[] keys = {TokenTable.DOC_ID, TokenTable.HEAD, TokenTable.POS};
    boolean[] ints = {false, intHead, intPos};
    for (int c = 0; c < 3; c++) {
      if (!schema.containsField(keys[c]) || !KeyColumnCounts.readable(schema.getType(keys[c]), c == 0)) {
        return false;
      }
      if (c > 0 && (schema.getType(keys[c]).asPrimitiveType().getPrimitiveTypeName() == PrimitiveTypeName.INT32) != ints[c]) {
        return false; // not the type the scan gives it
      }
    }
    for (String v : vectors) {
      if (!schema.containsField(v)) {
        return false;
      }
      Type t = schema.getType(v);
      if (!t.isPrimitive() || t.isRepetition(Type.Repetition.REPEATED)
          || t.asPrimitiveType().getPrimitiveTypeName() != PrimitiveTypeName.BINARY) {
        return false;
      }
    }
    return true;
  }

  @Override public boolean hasNext() {
    try {
      while (rowsLeft == 0) {
        if (reader != null) {
          if (skipUnneeded()) {
            continue;
          }
          nextRowGroup++;
          releaseRowGroup();
          long start = System.nanoTime();
          long cpu = THREADS.getCurrentThreadCpuTime();
          PageReadStore rowGroup = reader.readNextRowGroup();
          rowGroupCpuNanos += THREADS.getCurrentThreadCpuTime() - cpu;
          rowGroupNanos += System.nanoTime() - start;
          if (rowGroup != null) {
            startRowGroup(rowGroup);
            continue;
          }
          reader.close();
          reader = null;
        }
        if (nextFile == readers.size()) {
          return false;
        }
        openFile(readers.get(nextFile++));
      }
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Skips the next row group where the filter does not need it (its statistics say which rows it holds). */
  private boolean skipUnneeded() {
    if (filter == null || nextRowGroup >= rowGroups.size()) {
      return false;
    }
    org.apache.parquet.hadoop.metadata.BlockMetaData next = rowGroups.get(nextRowGroup);
    FooterCounts.RowGroup g = FooterCounts.RowGroup.of(next);
    if (g == null || filter.needs(new DocHead(g.docId(), g.head()), g.minPos(), g.maxPos())) {
      return false;
    }
    reader.skipNextRowGroup();
    nextRowGroup++;
    skippedRowGroups++;
    skippedBytes += next.getCompressedSize();
    return true;
  }

  /** Row groups skipped so far as not needed ({@link RowGroupFilter}). */
  int skippedRowGroups() {
    return skippedRowGroups;
  }

  /** Their bytes as stored (compressed). */
  long skippedBytes() {
    return skippedBytes;
  }

  private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

  /** Time spent reading row groups into column-chunk buffers (parquet-mr's readNextRowGroup). */
  long rowGroupNanos() {
    return rowGroupNanos;
  }

  /** Of it, on a CPU. */
  long rowGroupCpuNanos() {
    return rowGroupCpuNanos;
  }

  private void openFile(ParquetFileReader next) {
    reader = next;
    rowGroups = reader.getRowGroups();
    nextRowGroup = 0;
    MessageType schema = reader.getFooter().getFileMetaData().getSchema();
    Type[] fields = new Type[3 + vectors.size()];
    fields[0] = schema.getType(TokenTable.DOC_ID);
    fields[1] = schema.getType(TokenTable.HEAD);
    fields[2] = schema.getType(TokenTable.POS);
    for (int i = 0; i < vectors.size(); i++) {
      fields[3 + i] = schema.getType(vectors.get(i));
    }
    projection = new MessageType(schema.getName(), fields);
    reader.setRequestedSchema(projection);
    createdBy = reader.getFooter().getFileMetaData().getCreatedBy();
  }

  /** Hands the finished row group's column-chunk buffers back to the pool. */
  private void releaseRowGroup() {
    if (current != null) {
      current.close();
      current = null;
    }
  }

  private void startRowGroup(PageReadStore rowGroup) {
    current = rowGroup;
    columns = new FirstPackedValue.RowGroupColumns(rowGroup, projection, createdBy);
    rowsLeft = rowGroup.getRowCount();
    lastDocId = null; // a new row group has its own dictionary
  }

  @Override public InternalRow next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    rowsLeft--;
    Object[] values = row.values();
    // doc id: the previous row's (same bytes: a dictionary hands out one Binary per value) or a view
    if (!columns.isNull(0)) {
      Binary doc = columns.binary(0);
      sameDocId = lastDocIdUtf8 != null && (doc == lastDocId || doc.equals(lastDocId));
      if (!sameDocId) {
        lastDocId = doc.copy(); // the reader may reuse the page's bytes
        lastDocIdUtf8 = UTF8String.fromBytes(lastDocId.getBytes());
      }
      values[0] = lastDocIdUtf8;
    } else {
      values[0] = null;
      sameDocId = false;
      lastDocId = null;
      lastDocIdUtf8 = null;
    }
    for (int c = 1; c < 3; c++) {
      if (columns.isNull(c)) {
        values[c] = null;
      } else {
        long v = columns.integer(c);
        values[c] = columns.isInt64(c) ? (Object) v : (Object) (int) v; // as the scan types it
      }
    }
    for (int c = 3; c < columns.size(); c++) {
      values[c] = columns.isNull(c) ? null : view(columns.binary(c));
    }
    columns.consume();
    return row;
  }

  /** The value's bytes where the page holds them (no copy); valid until the reader moves on. */
  private static UTF8String view(Binary value) {
    ByteBuffer b = value.toByteBuffer();
    if (b.hasArray()) {
      return UTF8String.fromAddress(b.array(), Platform.BYTE_ARRAY_OFFSET + b.arrayOffset() + b.position(), b.remaining());
    }
    return UTF8String.fromBytes(value.getBytes()); // an off-heap page: copied
  }

  @Override public boolean sameDocId() {
    return sameDocId;
  }

  /** Closes the file being read and those not read yet, if any (read to the end, none is open). */
  @Override public void close() {
    List<ParquetFileReader> open = new java.util.ArrayList<>(readers.subList(nextFile, readers.size()));
    try {
      releaseRowGroup();
      if (reader != null) {
        reader.close();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      closeAll(open);
      reader = null;
      rowsLeft = 0;
      nextFile = readers.size();
    }
  }

  /**
   * Column-chunk buffers reused across row groups by each reading thread: parquet-mr reads a row
   * group's column chunks into new arrays of up to 8 MB each (half the table's bytes again in fresh
   * memory, a whole row group per thread at a time, copied by G1 when a young collection finds it
   * in flight). Kept per thread and exact size, up to {@link #MAX_POOLED_BYTES} a thread; a row
   * group's buffers come back when the next one is read or the reader closes.
   */
  static final class ChunkBuffers implements org.apache.parquet.bytes.ByteBufferAllocator {
    static final ChunkBuffers POOL = new ChunkBuffers();
    static final long MAX_POOLED_BYTES = 128L << 20;
    private static final ThreadLocal<java.util.Map<Integer, java.util.ArrayDeque<ByteBuffer>>> FREE =
        ThreadLocal.withInitial(java.util.HashMap::new);
    private static final ThreadLocal<long[]> POOLED = ThreadLocal.withInitial(() -> new long[1]);

    @Override public ByteBuffer allocate(int size) {
      java.util.ArrayDeque<ByteBuffer> free = FREE.get().get(size);
      ByteBuffer b = free == null ? null : free.poll();
      if (b == null) {
        return ByteBuffer.allocate(size);
      }
      POOLED.get()[0] -= size;
      b.clear();
      return b;
    }

    @Override public void release(ByteBuffer b) {
      long[] pooled = POOLED.get();
      if (b.isDirect() || !b.hasArray() || pooled[0] + b.capacity() > MAX_POOLED_BYTES) {
        return; // the collector takes it
      }
      FREE.get().computeIfAbsent(b.capacity(), k -> new java.util.ArrayDeque<>()).add(b);
      pooled[0] += b.capacity();
    }

    @Override public boolean isDirect() {
      return false;
    }
  }

  /**
   * The current token: doc id, head and pos as Spark types them, each vector a view of its bytes
   * ({@link TokenTable#binaryView} reads it as such). One object, refilled row by row: valid until
   * the next row is taken, as a scan's rows are.
   */
  static final class View extends GenericInternalRow {
    private static final long serialVersionUID = 1L;

    View(int fields) {
      super(new Object[fields]);
    }

    @Override public byte[] getBinary(int ordinal) {
      return ((UTF8String) genericGet(ordinal)).getBytes();
    }
  }
}
