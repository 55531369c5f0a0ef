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
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.SeekableInputStream;
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
  private final List<PartitionedFile> files; // theirs
  private final Configuration conf;
  private final List<String> vectors;
  private final View row;
  private final RowGroupFilter filter;
  private final boolean plainPages = plainPagesAllowed();
  private int plainRowGroups;
  private int readRowGroups;
  private int nextFile;
  private ParquetFileReader reader;
  private MessageType projection;
  private String createdBy;
  private FirstPackedValue.RowGroupColumns columns; // the key columns, and the vectors where not plainVectors
  private boolean plainVectors; // the current file's vector chunks all read by PlainBinaryPages
  private SeekableInputStream[] vectorStreams; // then one per vector column (its chunks read side by side)
  private PlainBinaryPages[] vectorPages; // the current row group's
  private int[] vectorMaxDefinitions; // the current file's, per vector column
  private PageReadStore current; // the row group being read, until its buffers go back to the pool
  private long rowsLeft; // in the current row group
  private List<BlockMetaData> rowGroups; // of the current file's split
  private int nextRowGroup;
  private int skippedRowGroups;
  private long skippedBytes;
  private long rowGroupNanos; // in readNextRowGroup: the file's bytes into column-chunk buffers
  private long rowGroupCpuNanos; // of which on a CPU
  private Binary lastDocId;
  private UTF8String lastDocIdUtf8;
  private boolean sameDocId;

  private ParquetTokens(List<ParquetFileReader> readers, List<PartitionedFile> files, Configuration conf,
      List<String> vectors, RowGroupFilter filter) {
    this.readers = readers;
    this.files = files;
    this.conf = conf;
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
    List<PartitionedFile> files = new java.util.ArrayList<>();
    try {
      for (PartitionedFile file : partition.files()) {
        if (file.partitionValues().numFields() > 0) {
          closeAll(readers);
          return null; // partition columns come from the paths: Spark's reader adds them
        }
        ParquetFileReader r = FirstPackedValue.openSplit(file, conf, ChunkBuffers.POOL);
        readers.add(r);
        files.add(file);
        if (!readable(r.getFooter().getFileMetaData().getSchema(), intHead, intPos, vectors)) {
          closeAll(readers);
          return null;
        }
      }
    } catch (IOException | RuntimeException e) {
      closeAll(readers);
      return null; // Spark's reader reads it, and reports what is wrong as it always did
    }
    return new ParquetTokens(readers, files, conf, vectors, filter);
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
          closeFile();
        }
        if (nextFile == readers.size()) {
          return false;
        }
        openFile(readers.get(nextFile), files.get(nextFile));
        nextFile++;
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
    BlockMetaData next = rowGroups.get(nextRowGroup);
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

  /** Time spent reading the files into buffers (parquet-mr's readNextRowGroup, and the vector pages' reads). */
  long rowGroupNanos() {
    return rowGroupNanos;
  }

  /** Of it, on a CPU. */
  long rowGroupCpuNanos() {
    return rowGroupCpuNanos;
  }

  private void openFile(ParquetFileReader next, PartitionedFile file) throws IOException {
    reader = next;
    rowGroups = reader.getRowGroups();
    nextRowGroup = 0;
    MessageType schema = reader.getFooter().getFileMetaData().getSchema();
    plainVectors = plainVectors(reader);
    Type[] fields = new Type[3 + (plainVectors ? 0 : vectors.size())];
    fields[0] = schema.getType(TokenTable.DOC_ID);
    fields[1] = schema.getType(TokenTable.HEAD);
    fields[2] = schema.getType(TokenTable.POS);
    for (int i = 3; i < fields.length; i++) {
      fields[i] = schema.getType(vectors.get(i - 3));
    }
    projection = new MessageType(schema.getName(), fields);
    reader.setRequestedSchema(projection);
    createdBy = reader.getFooter().getFileMetaData().getCreatedBy();
    if (plainVectors) {
      vectorStreams = new SeekableInputStream[vectors.size()];
      vectorPages = new PlainBinaryPages[vectors.size()];
      vectorMaxDefinitions = new int[vectors.size()];
      HadoopInputFile input = HadoopInputFile.fromPath(file.toPath(), conf);
      for (int v = 0; v < vectors.size(); v++) {
        vectorMaxDefinitions[v] = schema.getColumnDescription(new String[] {vectors.get(v)}).getMaxDefinitionLevel();
        vectorStreams[v] = input.newStream();
      }
    }
  }

  /**
   * Whether {@link PlainBinaryPages} reads the vector chunks of every row group of the file's split
   * (as Spark writes vectors that do not compress: PLAIN, uncompressed or SNAPPY); else
   * parquet-mr's column readers read them, as they read the keys always.
   */
  private boolean plainVectors(ParquetFileReader file) {
    if (!plainPages || file.getFooter().getFileMetaData().getEncryptionType()
        != org.apache.parquet.hadoop.metadata.FileMetaData.EncryptionType.UNENCRYPTED) {
      return false;
    }
    for (BlockMetaData rowGroup : file.getRowGroups()) {
      for (String v : vectors) {
        ColumnChunkMetaData chunk = chunk(rowGroup, v);
        if (chunk == null || !PlainBinaryPages.readable(chunk)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether {@code -Dflashspark.plainPages} (default true) lets {@link PlainBinaryPages} read the vectors. */
  static boolean plainPagesAllowed() {
    return Boolean.parseBoolean(System.getProperty("flashspark.plainPages", "true"));
  }

  /** Row groups read so far (not skipped). */
  int readRowGroups() {
    return readRowGroups;
  }

  /** Of them, those whose vectors {@link PlainBinaryPages} read. */
  int plainRowGroups() {
    return plainRowGroups;
  }

  private static ColumnChunkMetaData chunk(BlockMetaData rowGroup, String column) {
    for (ColumnChunkMetaData c : rowGroup.getColumns()) {
      if (c.getPath().size() == 1 && c.getPath().toArray()[0].equals(column)) {
        return c;
      }
    }
    return null;
  }

  private void closeFile() throws IOException {
    try {
      reader.close();
    } finally {
      reader = null;
      if (vectorStreams != null) {
        for (SeekableInputStream s : vectorStreams) {
          try {
            s.close();
          } catch (IOException e) {
            // only read from: nothing to lose
          }
        }
        vectorStreams = null;
      }
    }
  }

  /** Hands the finished row group's column-chunk buffers (and vector page arrays) back to the pools. */
  private void releaseRowGroup() {
    if (current != null) {
      current.close();
      current = null;
    }
    if (vectorPages != null) {
      for (int v = 0; v < vectorPages.length; v++) {
        if (vectorPages[v] != null) {
          rowGroupNanos += vectorPages[v].readNanos();
          rowGroupCpuNanos += vectorPages[v].readCpuNanos();
          vectorPages[v].close();
          vectorPages[v] = null;
        }
      }
    }
  }

  private void startRowGroup(PageReadStore rowGroup) throws IOException {
    current = rowGroup;
    readRowGroups++;
    columns = new FirstPackedValue.RowGroupColumns(rowGroup, projection, createdBy);
    rowsLeft = rowGroup.getRowCount();
    lastDocId = null; // a new row group has its own dictionary
    if (plainVectors) {
      plainRowGroups++;
      BlockMetaData block = rowGroups.get(nextRowGroup - 1);
      for (int v = 0; v < vectors.size(); v++) {
        vectorPages[v] = new PlainBinaryPages(vectorStreams[v], chunk(block, vectors.get(v)), vectorMaxDefinitions[v]);
      }
    }
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
        row.setKey(c, columns.integer(c), columns.isInt64(c)); // int or long, as the scan types it
      }
    }
    if (plainVectors) {
      for (int v = 0; v < vectorPages.length; v++) {
        try {
          if (vectorPages[v].next()) {
            row.point(3 + v, vectorPages[v].array(), vectorPages[v].offset(), vectorPages[v].length());
          } else {
            row.setNullAt(3 + v);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(new IOException(files.get(nextFile - 1).toPath() + ": " + e.getMessage(), e));
        }
      }
    } else {
      for (int c = 3; c < columns.size(); c++) {
        if (columns.isNull(c)) {
          row.setNullAt(c);
        } else {
          point(c, columns.binary(c));
        }
      }
    }
    columns.consume();
    return row;
  }

  /** Points the row's field at the value's bytes where the page holds them (no copy); valid until the reader moves on. */
  private void point(int field, Binary value) {
    ByteBuffer b = value.toByteBuffer();
    if (b.hasArray()) {
      row.point(field, b.array(), b.arrayOffset() + b.position(), b.remaining());
    } else {
      byte[] copy = value.getBytes(); // an off-heap page: copied
      row.point(field, copy, 0, copy.length);
    }
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
        closeFile();
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
   * The current token: doc id, head and pos as Spark types them (head and pos unboxed), each vector
   * where the reader holds its bytes ({@link #base}, {@link #offset}, {@link #length}: the packer copies from there, no
   * object per value; {@link #getUTF8String} makes a view, {@link #getBinary} a copy). One object,
   * refilled row by row: valid until the next row is taken, as a scan's rows are.
   */
  static final class View extends GenericInternalRow {
    private static final long serialVersionUID = 1L;
    private static final Object POINTED = new Object(); // a vector field's value: not null, see the arrays
    private static final Object INT = new Object(); // a key field's value: not null, see keys
    private static final Object LONG = new Object();
    private final transient byte[][] base;
    private final long[] offset;
    private final int[] length;
    private final long[] keys; // head and pos, unboxed

    View(int fields) {
      super(new Object[fields]);
      base = new byte[fields][];
      offset = new long[fields];
      length = new int[fields];
      keys = new long[fields];
    }

    void setKey(int field, long value, boolean int64) {
      values()[field] = int64 ? LONG : INT;
      keys[field] = value;
    }

    @Override public int getInt(int ordinal) {
      return values()[ordinal] == INT ? (int) keys[ordinal] : super.getInt(ordinal);
    }

    @Override public long getLong(int ordinal) {
      return values()[ordinal] == LONG ? keys[ordinal] : super.getLong(ordinal);
    }

    void point(int field, byte[] array, int from, int bytes) {
      values()[field] = POINTED;
      base[field] = array;
      offset[field] = Platform.BYTE_ARRAY_OFFSET + (long) from;
      length[field] = bytes;
    }

    /** Whether vector field {@code field} is held as an array region (else null). */
    boolean pointed(int field) {
      return values()[field] == POINTED;
    }

    /** The array holding field {@code field}'s bytes. */
    Object base(int field) {
      return base[field];
    }

    /** Their address in it, as {@link Platform} takes it. */
    long offset(int field) {
      return offset[field];
    }

    int length(int field) {
      return length[field];
    }

    @Override public boolean isNullAt(int ordinal) {
      return values()[ordinal] == null;
    }

    @Override public Object genericGet(int ordinal) {
      Object v = values()[ordinal];
      if (v == POINTED) {
        return UTF8String.fromAddress(base[ordinal], offset[ordinal], length[ordinal]);
      }
      return v == INT ? (Object) (int) keys[ordinal] : v == LONG ? (Object) keys[ordinal] : v;
    }

    @Override public byte[] getBinary(int ordinal) {
      return ((UTF8String) genericGet(ordinal)).getBytes();
    }
  }
}
