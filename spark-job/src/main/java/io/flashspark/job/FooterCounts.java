package io.flashspark.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.io.api.Binary;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.FileScanRDD;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import org.apache.spark.sql.execution.datasources.parquet.ParquetFooterReader;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A packed token table's per-block counts ({@link BlockStats.Counts}) from its Parquet footers, with
 * no Spark job: each row group's row count and the min/max statistics of {@code doc_id}, {@code
 * head} and {@code pos}. On the H200 the count job took about 3 s of the 1M-token x 8-head job's
 * 14-17 s (a Spark job over 8M rows, its aggregation, and the first job's start-up), the footers of
 * its 64 files a few milliseconds each.
 *
 * <p>Exact, never estimated: used only where every row group of the scan holds one (doc, head),
 * no null key (null counts recorded as 0), and either positions within one block or positions
 * that are all of {@code [min, max]} (rows = max - min + 1: distinct positions can only be every
 * one of them, and a repeated one is bad input found while packing). Anything else (statistics
 * missing or not recorded, a row group mixing heads or with gaps across a block boundary, a
 * footer that cannot be read, more than {@link #MAX_SPLITS} file splits) leaves the count to
 * {@link BlockStats#count}, which also names bad keys. Row groups are assigned to the scan's
 * partitions by Spark's own footer reader ({@link ParquetFooterReader}, the split's byte range), so
 * the counts name the very partitions the cells read ({@link DirectCells}). {@code
 * -Dflashspark.footerCounts=false} always runs the count job.
 */
final class FooterCounts {
  /** File splits whose footers the driver reads at most; beyond, a Spark job counts (in parallel). */
  static final int MAX_SPLITS = 4096;

  private FooterCounts() {}

  /** Whether footers may stand in for the count job ({@code -Dflashspark.footerCounts}, default true). */
  static boolean allowed() {
    return Boolean.parseBoolean(System.getProperty("flashspark.footerCounts", "true"));
  }

  /**
   * The counts of {@code scan}'s table in blocks of {@code blockSize} positions, or empty where its
   * footers do not settle them (see the class comment).
   */
  static Optional<BlockStats.Counts> of(ColumnarScan.Tokens scan, int blockSize, Configuration conf) {
    if (!allowed()) {
      return Optional.empty();
    }
    List<FilePartition> partitions = filePartitions(scan.batches());
    if (partitions == null || partitions.stream().mapToInt(p -> p.files().length).sum() > MAX_SPLITS) {
      return Optional.empty();
    }
    // per partition, its row groups' summaries (read in parallel: a footer is one or two small reads)
    List<List<RowGroup>> groups;
    try {
      groups = partitions.parallelStream().map(p -> rowGroups(p, conf)).toList();
    } catch (RuntimeException e) {
      return Optional.empty(); // unreadable or unsuitable: the count job reads (and reports) it
    }
    if (groups.contains(null)) {
      return Optional.empty();
    }
    BlockStats.Tally tally = new BlockStats.Tally();
    for (int partition = 0; partition < groups.size(); partition++) { // the scan's partition index
      for (RowGroup g : groups.get(partition)) {
        long first = Math.floorDiv(g.minPos, (long) blockSize);
        long last = Math.floorDiv(g.maxPos, (long) blockSize);
        if (first != last && g.maxPos - g.minPos + 1 != g.rows) {
          return Optional.empty(); // positions with gaps across a block boundary: rows per block unknown
        }
        DocHead dh = new DocHead(g.docId, g.head);
        for (long b = first; b <= last; b++) {
          long from = Math.max(g.minPos, b * blockSize);
          long to = Math.min(g.maxPos, b * blockSize + blockSize - 1);
          tally.add(new BlockKey(dh, b), partition, first == last ? g.rows : to - from + 1);
        }
      }
    }
    if (tally.isEmpty()) {
      return Optional.empty(); // no rows: the count job says so
    }
    return Optional.of(tally.counts(true)); // every row group one (doc, head), by its statistics
  }

  /** One row group: its rows, its one (doc, head) and its positions' range. */
  record RowGroup(long rows, String docId, int head, long minPos, long maxPos) {
    /**
     * The row group's summary from its statistics, or null where they do not give one (doc id,
     * head or pos statistics missing or with nulls, or the row group mixing docs or heads); also
     * {@link ParquetTokens}, which skips row groups a task does not need.
     */
    static RowGroup of(BlockMetaData block) {
      Statistics<?> doc = stats(block, TokenTable.DOC_ID);
      Statistics<?> head = stats(block, TokenTable.HEAD);
      Statistics<?> pos = stats(block, TokenTable.POS);
      if (doc == null || head == null || pos == null) {
        return null;
      }
      Binary docMin = (Binary) doc.genericGetMin();
      long headMin = ((Number) head.genericGetMin()).longValue();
      long headMax = ((Number) head.genericGetMax()).longValue();
      if (!docMin.equals(doc.genericGetMax()) || headMin != headMax || headMin != (int) headMin) {
        return null;
      }
      return new RowGroup(block.getRowCount(), docMin.toStringUsingUTF8(), (int) headMin,
          ((Number) pos.genericGetMin()).longValue(), ((Number) pos.genericGetMax()).longValue());
    }
  }

  /** The partition's row groups as Spark's reader assigns them to its splits, or null where one is unsuitable. */
  private static List<RowGroup> rowGroups(FilePartition partition, Configuration conf) {
    List<RowGroup> out = new ArrayList<>();
    for (PartitionedFile file : partition.files()) {
      ParquetMetadata footer;
      try {
        footer = ParquetFooterReader.readFooter(conf, file, ParquetFooterReader.WITH_ROW_GROUPS);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      for (BlockMetaData block : footer.getBlocks()) {
        if (block.getRowCount() == 0) {
          continue;
        }
        RowGroup g = RowGroup.of(block);
        if (g == null) {
          return null;
        }
        out.add(g);
      }
    }
    return out;
  }

  /** The column's statistics in {@code block} where they give min, max and no nulls; else null. */
  private static Statistics<?> stats(BlockMetaData block, String column) {
    for (ColumnChunkMetaData c : block.getColumns()) {
      if (c.getPath().size() == 1 && c.getPath().toArray()[0].equals(column)) {
        Statistics<?> s = c.getStatistics();
        boolean usable = s != null && !s.isEmpty() && s.hasNonNullValue() && s.isNumNullsSet() && s.getNumNulls() == 0
            && s.genericGetMin() != null && s.genericGetMax() != null;
        return usable ? s : null;
      }
    }
    return null;
  }

  /** The file partitions under a scan's column batches (their lineage down to the file scan), or null. */
  static List<FilePartition> filePartitions(RDD<?> rdd) {
    while (!(rdd instanceof FileScanRDD)) {
      scala.collection.immutable.Seq<org.apache.spark.Dependency<?>> deps = rdd.dependencies();
      if (deps.size() != 1 || !(deps.head() instanceof org.apache.spark.OneToOneDependency<?>)) {
        return null;
      }
      rdd = deps.head().rdd();
    }
    return new ArrayList<>(CollectionConverters.asJava(((FileScanRDD) rdd).filePartitions()));
  }
}
