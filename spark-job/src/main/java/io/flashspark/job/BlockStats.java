package io.flashspark.job;

import io.flashspark.attention.PackedRows;
import io.flashspark.attention.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * What the driver learns from a token table's keys before planning: per block, its rows, fragments
 * and packed bytes of each side (to estimate the shuffle); per (doc, head), a {@link DocSummary}.
 * One small aggregation over {@code doc_id, head, pos}; the vectors are read once, later, when
 * they are packed and routed.
 */
final class BlockStats {
  /** One block: rows, fragments, packed bytes of its query side and key side (0 where absent). */
  record Block(long rows, long fragments, long queryBytes, long keyBytes, long queryPayload, long keyPayload) {}

  private final Map<DocHead, DocSummary> docs;
  private final Map<BlockKey, Block> blocks;
  private final Map<BlockKey, int[]> inputPartitions;
  private final boolean rowGroupsOneDocHead;

  private BlockStats(Map<DocHead, DocSummary> docs, Map<BlockKey, Block> blocks, Map<BlockKey, int[]> inputPartitions,
      boolean rowGroupsOneDocHead) {
    this.docs = docs;
    this.blocks = blocks;
    this.inputPartitions = inputPartitions;
    this.rowGroupsOneDocHead = rowGroupsOneDocHead;
  }

  /** Whether every row group holds one (doc, head), as its statistics say ({@link Counts}). */
  boolean rowGroupsOneDocHead() {
    return rowGroupsOneDocHead;
  }

  Map<DocHead, DocSummary> docs() {
    return docs;
  }

  Map<BlockKey, Block> blocks() {
    return blocks;
  }

  long rows() {
    return docs.values().stream().mapToLong(DocSummary::rows).sum();
  }

  /**
   * The input partitions (of the table's scan) holding rows of {@code block}, or null where there
   * are more than {@link #MAX_PARTITIONS_KEPT} of them or the block is unknown.
   */
  int[] inputPartitions(BlockKey block) {
    return inputPartitions.get(block);
  }

  /** Bytes of vector values on a side ("q" or "kv"), in the precision they travel. */
  long payloadBytes(String side) {
    return blocks.values().stream().mapToLong(b -> side.equals("q") ? b.queryPayload() : b.keyPayload()).sum();
  }

  /**
   * One block of a token table, counted from its keys ({@link #count}): its rows, its fragments, and
   * the input partitions holding it (null where more than {@link #MAX_PARTITIONS_KEPT}).
   */
  record Count(long rows, long fragments, int[] partitions) {}

  /**
   * Per block, its {@link Count}; {@code rowGroupsOneDocHead}: every row group of the table holds one
   * (doc, head) and its statistics say so (counted from the footers), so the cells reading their
   * input themselves skip the row groups of other heads ({@link ParquetTokens.RowGroupFilter}).
   */
  record Counts(Map<BlockKey, Count> blocks, boolean rowGroupsOneDocHead) {
    Counts(Map<BlockKey, Count> blocks) {
      this(blocks, false);
    }
  }

  /**
   * Counts gathered from the table's files rather than by {@link #count} ({@link FooterCounts},
   * {@link KeyColumnCounts}): rows per block and the scan partitions holding them, then the same
   * {@link Count}s as the count job's.
   */
  static final class Tally {
    private final Map<BlockKey, long[]> rows = new java.util.HashMap<>();
    private final Map<BlockKey, java.util.TreeSet<Integer>> partitions = new java.util.HashMap<>();

    void add(BlockKey block, int partition, long n) {
      rows.computeIfAbsent(block, k -> new long[1])[0] += n;
      partitions.computeIfAbsent(block, k -> new java.util.TreeSet<>()).add(partition);
    }

    void addAll(Tally other) {
      other.rows.forEach((block, n) -> rows.computeIfAbsent(block, k -> new long[1])[0] += n[0]);
      other.partitions.forEach((block, in) -> partitions.computeIfAbsent(block, k -> new java.util.TreeSet<>()).addAll(in));
    }

    boolean isEmpty() {
      return rows.isEmpty();
    }

    Counts counts() {
      return counts(false);
    }

    /** The counts; {@code rowGroupsOneDocHead} as {@link Counts} says. */
    Counts counts(boolean rowGroupsOneDocHead) {
      Map<BlockKey, Count> blocks = new java.util.HashMap<>();
      for (Map.Entry<BlockKey, long[]> e : rows.entrySet()) {
        java.util.TreeSet<Integer> in = partitions.get(e.getKey());
        int[] kept = in.size() <= MAX_PARTITIONS_KEPT ? in.stream().mapToInt(Integer::intValue).toArray() : null;
        blocks.put(e.getKey(), new Count(e.getValue()[0], in.size(), kept));
      }
      return new Counts(blocks, rowGroupsOneDocHead);
    }
  }

  /**
   * Input partitions named per block at most: a block spread over more is not read directly by its
   * cells ({@link DirectCells}), so the driver need not hold the list.
   */
  static final int MAX_PARTITIONS_KEPT = 64;

  /**
   * Counts a token table's rows per block from its keys alone ({@code doc_id, head, pos}: the scan
   * reads no vector), and stops, naming up to 10 problems, on rows whose keys are null or whose
   * head is out of range. Fragments are counted as the packer makes them, one per block and input
   * partition (the same scan's partitions; a partition that flushes its open blocks mid-way makes
   * a few more, which the estimate does not see).
   *
   * @param cols the table as {@link TokenTable#columns} checked it
   */
  static Counts count(TokenTable.Columns cols, int blockSize, String table) {
    Dataset<Row> tokens = cols.rows();
    // floor(pos / T) in integers, as the packer's Math.floorDiv (also for negative positions)
    Column block = functions.expr("(" + TokenTable.POS + " - pmod(" + TokenTable.POS + ", " + blockSize + "L)) div "
        + blockSize + "L");
    Column parts = functions.col("parts");
    List<Row> rows = tokens.select(tokens.col(TokenTable.DOC_ID), tokens.col(TokenTable.HEAD), block.as("block"),
            functions.spark_partition_id().as("part"))
        .groupBy(TokenTable.DOC_ID, TokenTable.HEAD, "block")
        .agg(functions.count(functions.lit(1)).as("rows"), functions.collect_set("part").as("parts"))
        .select(functions.col(TokenTable.DOC_ID), functions.col(TokenTable.HEAD), functions.col("block"),
            functions.col("rows"), functions.size(parts).cast("long"),
            functions.when(functions.size(parts).leq(MAX_PARTITIONS_KEPT), functions.array_sort(parts)))
        .collectAsList();
    if (rows.isEmpty()) {
      throw new InputException("table '" + table + "' has no rows");
    }
    Map<BlockKey, Count> blocks = new java.util.HashMap<>();
    List<String> problems = new ArrayList<>();
    for (Row r : rows) {
      if (r.isNullAt(0) || r.isNullAt(1) || r.isNullAt(2) || r.getLong(1) != (int) r.getLong(1)) {
        if (problems.size() < 10) {
          String where = "doc '" + (r.isNullAt(0) ? "<null>" : r.getString(0)) + "'";
          problems.add(r.isNullAt(0) || r.isNullAt(1) || r.isNullAt(2)
              ? where + " head " + (r.isNullAt(1) ? "<null>" : r.getLong(1)) + ": null doc_id, head or pos in "
                  + r.getLong(3) + " row(s)"
              : where + ": head " + r.getLong(1) + " does not fit a 32-bit int (" + r.getLong(3) + " row(s))");
        }
        continue;
      }
      int[] partitions = null;
      if (!r.isNullAt(5)) {
        List<Integer> list = r.getList(5);
        partitions = list.stream().mapToInt(Integer::intValue).toArray();
      }
      blocks.put(new BlockKey(new DocHead(r.getString(0), (int) r.getLong(1)), r.getLong(2)),
          new Count(r.getLong(3), r.getLong(4), partitions));
    }
    if (!problems.isEmpty()) {
      throw new InputException(InputException.invalidRows(table, problems));
    }
    return new Counts(blocks);
  }

  /**
   * The statistics of counted blocks: the packed bytes of each side follow from rows, fragments and
   * dimension in the side's precision ({@link PackedRows#size}).
   *
   * @param sides the precisions the table's sides travel in (null where it has none)
   * @param dim the job's head dimension
   */
  static BlockStats of(Counts counts, Fragments.Table sides, int dim) {
    Map<DocHead, DocSummary> docs = new TreeMap<>();
    Map<BlockKey, Block> blocks = new TreeMap<>(java.util.Comparator.comparing(BlockKey::docHead)
        .thenComparingLong(BlockKey::index));
    Map<BlockKey, int[]> partitions = new java.util.HashMap<>();
    for (Map.Entry<BlockKey, Count> e : counts.blocks().entrySet()) {
      DocHead dh = e.getKey().docHead();
      long index = e.getKey().index();
      long count = e.getValue().rows();
      long fragmentCount = e.getValue().fragments();
      if (e.getValue().partitions() != null) {
        partitions.put(e.getKey(), e.getValue().partitions());
      }
      docs.merge(dh, new DocSummary(dh, count, dim, index, index), DocSummary::merge);
      long qPayload = payload(count, dim, sides.query(), 1);
      long kvPayload = payload(count, dim, sides.keys(), 2);
      long header = fragmentCount * PackedRows.HEADER_BYTES + count * Long.BYTES;
      blocks.put(e.getKey(), new Block(count, fragmentCount, qPayload == 0 ? 0 : header + qPayload,
          kvPayload == 0 ? 0 : header + kvPayload, qPayload, kvPayload));
    }
    return new BlockStats(docs, blocks, partitions, counts.rowGroupsOneDocHead());
  }

  /** Bytes of {@code vectors} vectors per row in {@code precision}; 0 for a side the table lacks. */
  private static long payload(long rows, int dim, Precision precision, int vectors) {
    return precision == null || dim <= 0 ? 0 : rows * vectors * dim * PackedRows.valueBytes(precision);
  }
}
