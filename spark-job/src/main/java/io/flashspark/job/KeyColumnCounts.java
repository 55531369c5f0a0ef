package io.flashspark.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;

/**
 * A packed token table's per-block counts ({@link BlockStats.Counts}) read by the driver from its
 * key columns alone ({@code doc_id, head, pos}, parquet-mr's column reader, the scan's partitions
 * in parallel), with no Spark job: for a table whose footers do not settle them ({@link
 * FooterCounts}: row groups holding several documents or heads, as most writers leave them) whose
 * key columns take at most {@link #maxKeyBytes} as stored. On a 2-core machine the count job of 64 documents x 4,096 tokens
 * took 3.1 s (most of it the session's first job starting); its keys are 4 MB.
 *
 * <p>Exactly the count job's counts: row groups go to the scan partitions Spark's reader gives
 * them (the split's byte range, their middle), rows to {@code floor(pos / T)}. Anything the job
 * reports or this reader does not expect (a null key, a head outside int32, key types other than a
 * string {@code doc_id} and integer {@code head} and {@code pos}, as {@link ColumnarScan} takes them,
 * an unreadable file, more key bytes) leaves the count to {@link BlockStats#count}, which names bad
 * rows. {@code
 * -Dflashspark.footerCounts=false} turns it off with the footers.
 */
final class KeyColumnCounts {
  /**
   * Bytes of key columns (as stored, what the driver reads) at most: 128 MB, 16M rows of generated
   * keys, well under a second from a local disk on 2 cores; beyond, the count job reads them in
   * parallel on the executors. {@code -Dflashspark.keyCounts.maxBytes} sets it (lower for a slow
   * remote store; 0 always runs the job).
   */
  static final long MAX_KEY_BYTES = 128L << 20;

  static long maxKeyBytes() {
    return Long.parseLong(System.getProperty("flashspark.keyCounts.maxBytes", String.valueOf(MAX_KEY_BYTES)).trim());
  }

  private KeyColumnCounts() {}

  static Optional<BlockStats.Counts> of(ColumnarScan.Tokens scan, int blockSize, Configuration conf) {
    if (!FooterCounts.allowed()) {
      return Optional.empty();
    }
    List<FilePartition> partitions = FooterCounts.filePartitions(scan.batches());
    if (partitions == null || partitions.stream().mapToInt(p -> p.files().length).sum() > FooterCounts.MAX_SPLITS) {
      return Optional.empty();
    }
    AtomicLong budget = new AtomicLong(maxKeyBytes());
    BlockStats.Tally all = new BlockStats.Tally();
    try {
      List<BlockStats.Tally> tallies = IntStream.range(0, partitions.size()).parallel()
          .mapToObj(p -> tally(p, partitions.get(p), blockSize, conf, budget)).toList();
      for (BlockStats.Tally t : tallies) {
        if (t == null) {
          return Optional.empty();
        }
        all.addAll(t);
      }
    } catch (RuntimeException e) {
      return Optional.empty(); // unreadable, more key bytes than allowed: the count job reads (and reports) it
    }
    return all.isEmpty() ? Optional.empty() : Optional.of(all.counts());
  }

  /** The rows of scan partition {@code partition} per block, or null where the job must count. */
  private static BlockStats.Tally tally(int partition, FilePartition files, int blockSize, Configuration conf,
      AtomicLong budget) {
    BlockStats.Tally tally = new BlockStats.Tally();
    for (PartitionedFile file : files.files()) {
      try (ParquetFileReader reader = FirstPackedValue.openSplit(file, conf)) {
        MessageType schema = reader.getFooter().getFileMetaData().getSchema();
        Type[] keys = new Type[3];
        String[] names = {TokenTable.DOC_ID, TokenTable.HEAD, TokenTable.POS};
        for (int c = 0; c < 3; c++) {
          if (!schema.containsField(names[c]) || !readable(keys[c] = schema.getType(names[c]), c == 0)) {
            return null;
          }
        }
        if (budget.addAndGet(-keyBytes(reader, names)) < 0) {
          throw new IllegalStateException("more than " + maxKeyBytes() + " bytes of keys");
        }
        MessageType projection = new MessageType(schema.getName(), keys);
        reader.setRequestedSchema(projection);
        String createdBy = reader.getFooter().getFileMetaData().getCreatedBy();
        PageReadStore rowGroup;
        while ((rowGroup = reader.readNextRowGroup()) != null) {
          FirstPackedValue.RowGroupColumns columns = new FirstPackedValue.RowGroupColumns(rowGroup, projection, createdBy);
          if (!tallyRowGroup(tally, partition, columns, rowGroup.getRowCount(), blockSize)) {
            return null;
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return tally;
  }

  /** Counts one row group's keys, run by run of equal (doc, head, block); false at a null key or an out-of-range head. */
  private static boolean tallyRowGroup(BlockStats.Tally tally, int partition, FirstPackedValue.RowGroupColumns keys,
      long rows, int blockSize) {
    Binary runDoc = null;
    long runHead = 0;
    long runBlock = 0;
    long run = 0;
    for (long r = 0; r < rows; r++) {
      for (int c = 0; c < 3; c++) {
        if (keys.isNull(c)) {
          return false; // a null key: the job names it
        }
      }
      Binary doc = keys.binary(0);
      long head = keys.integer(1);
      long block = Math.floorDiv(keys.integer(2), (long) blockSize);
      keys.consume();
      if (head != (int) head) {
        return false; // the job names it
      }
      if (run > 0 && head == runHead && block == runBlock && doc.equals(runDoc)) {
        run++;
        continue;
      }
      if (run > 0) {
        tally.add(key(runDoc, runHead, runBlock), partition, run);
      }
      runDoc = doc.copy(); // a dictionary's or page's bytes, reused by the reader
      runHead = head;
      runBlock = block;
      run = 1;
    }
    if (run > 0) {
      tally.add(key(runDoc, runHead, runBlock), partition, run);
    }
    return true;
  }

  /** The key columns' bytes as stored in the row groups of the reader's split. */
  private static long keyBytes(ParquetFileReader reader, String[] names) {
    long bytes = 0;
    for (org.apache.parquet.hadoop.metadata.BlockMetaData rowGroup : reader.getRowGroups()) {
      for (org.apache.parquet.hadoop.metadata.ColumnChunkMetaData column : rowGroup.getColumns()) {
        if (column.getPath().size() == 1 && java.util.Arrays.asList(names).contains(column.getPath().toArray()[0])) {
          bytes += column.getTotalSize();
        }
      }
    }
    return bytes;
  }

  private static BlockKey key(Binary doc, long head, long block) {
    return new BlockKey(new DocHead(doc.toStringUsingUTF8(), (int) head), block);
  }

  /** A top-level key column the reader handles: {@code doc_id} a string, head and pos signed integers. */
  static boolean readable(Type type, boolean docId) {
    if (!type.isPrimitive() || type.isRepetition(Type.Repetition.REPEATED)) {
      return false;
    }
    PrimitiveType p = type.asPrimitiveType();
    LogicalTypeAnnotation logical = p.getLogicalTypeAnnotation();
    if (docId) {
      return p.getPrimitiveTypeName() == PrimitiveTypeName.BINARY
          && logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation;
    }
    boolean integer = p.getPrimitiveTypeName() == PrimitiveTypeName.INT32 || p.getPrimitiveTypeName() == PrimitiveTypeName.INT64;
    return integer && (logical == null
        || logical instanceof LogicalTypeAnnotation.IntLogicalTypeAnnotation i && i.isSigned());
  }
}
