package io.flashspark.job;

import io.flashspark.attention.PackedRows;
import io.flashspark.attention.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * What the driver learns from the fragments before planning: per block, its rows, fragments and
 * packed bytes of each side (to estimate the shuffle); per (doc, head), a {@link DocSummary} with
 * every problem found (capped). One small aggregation over the cached fragments.
 */
final class BlockStats {
  /** One block: rows, fragments, packed bytes of its query side and key side (0 where absent). */
  record Block(long rows, long fragments, long queryBytes, long keyBytes, long queryPayload, long keyPayload) {}

  private final Map<DocHead, DocSummary> docs;
  private final Map<BlockKey, Block> blocks;

  private BlockStats(Map<DocHead, DocSummary> docs, Map<BlockKey, Block> blocks) {
    this.docs = docs;
    this.blocks = blocks;
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

  /** Bytes of vector values on a side ("q" or "kv"), in the precision they travel. */
  long payloadBytes(String side) {
    return blocks.values().stream().mapToLong(b -> side.equals("q") ? b.queryPayload() : b.keyPayload()).sum();
  }

  /**
   * Collects the statistics of a table's fragments and stops, naming up to 10 problems, when any
   * row is invalid. The packed bytes of each side follow from rows, fragments and dimension in the
   * side's precision ({@link PackedRows#size}): the aggregation never reads the packed values (Spark's
   * {@code length} of a binary value copies it: a copy of the whole input in fresh memory).
   *
   * @param fragments a table's fragments and the precisions its sides travel in (null where it has none)
   */
  static BlockStats of(Fragments.Table fragments, String table) {
    Precision query = fragments.query();
    Precision keys = fragments.keys();
    List<Row> rows = fragments.rows().groupBy(TokenTable.DOC_ID, TokenTable.HEAD, "block")
        .agg(functions.sum("rows"), functions.count(functions.lit(1)),
            functions.min(functions.when(functions.col("dim").gt(0), functions.col("dim"))),
            functions.max(functions.when(functions.col("dim").gt(0), functions.col("dim"))),
            functions.first("problem", true))
        .collectAsList();
    if (rows.isEmpty()) {
      throw new InputException("table '" + table + "' has no rows");
    }
    Map<DocHead, DocSummary> docs = new TreeMap<>();
    Map<BlockKey, Block> blocks = new TreeMap<>(java.util.Comparator.comparing(BlockKey::docHead)
        .thenComparingLong(BlockKey::index));
    for (Row r : rows) {
      DocHead dh = new DocHead(r.getString(0), r.getInt(1));
      long block = r.getLong(2);
      long count = r.getLong(3);
      long fragmentCount = r.getLong(4);
      int dim = r.isNullAt(5) ? -1 : r.getInt(5);
      List<String> problems = new ArrayList<>();
      if (!r.isNullAt(7)) {
        problems.add(r.getString(7));
      }
      if (dim >= 0 && r.getInt(6) != dim) {
        problems.add(dh + ": rows have different dimensions (" + dim + " and " + r.getInt(6) + ")");
      }
      DocSummary s = new DocSummary(dh, count, dim, block, block, problems);
      docs.merge(dh, s, DocSummary::merge);
      long qPayload = payload(count, dim, query, 1);
      long kvPayload = payload(count, dim, keys, 2);
      long header = fragmentCount * PackedRows.HEADER_BYTES + count * Long.BYTES;
      blocks.put(new BlockKey(dh, block), new Block(count, fragmentCount, qPayload == 0 ? 0 : header + qPayload,
          kvPayload == 0 ? 0 : header + kvPayload, qPayload, kvPayload));
    }
    List<String> problems = new ArrayList<>();
    for (DocSummary s : docs.values()) {
      for (String p : s.problems()) {
        if (problems.size() < 10) {
          problems.add(p);
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new InputException("table '" + table + "' has invalid rows; nothing was written:\n  "
          + String.join("\n  ", problems));
    }
    return new BlockStats(docs, blocks);
  }

  /** Bytes of {@code vectors} vectors per row in {@code precision}; 0 for a side the table lacks. */
  private static long payload(long rows, int dim, Precision precision, int vectors) {
    return precision == null || dim <= 0 ? 0 : rows * vectors * dim * PackedRows.valueBytes(precision);
  }

  /** One head dimension for the whole job (the kernels are specialised per d). */
  static int checkDimensions(Map<DocHead, DocSummary> queries, Map<DocHead, DocSummary> keys) {
    int dim = -1;
    DocHead first = null;
    for (Map<DocHead, DocSummary> side : List.of(queries, keys)) {
      for (DocSummary s : side.values()) {
        if (dim < 0) {
          dim = s.dim();
          first = s.docHead();
        } else if (s.dim() != dim) {
          throw new InputException(s.docHead() + " has vectors of dimension " + s.dim() + " but " + first
              + " has " + dim + "; one job takes one head dimension");
        }
      }
    }
    return dim;
  }
}
