package io.flashspark.job;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Combines the partials of each Q block that several cells computed. Both ways apply the same
 * associative merge ({@link io.flashspark.attention.Partial#mergeFrom}), so they agree within
 * rounding. A cell already leaves one partial per Q block (its calls sweep all its KV blocks), so
 * only blocks that several KV shards serve reach a merge at all; a block with a single partial
 * ({@code final}) never does.
 */
public final class PartialMerger {
  private PartialMerger() {}

  /**
   * Batch jobs: partials shuffled by Q block, sorted by it within each partition (Spark's sorter
   * spills, so memory stays bounded), and merged block by block as they stream past.
   */
  public static Dataset<Row> distributed(Dataset<Row> partials, int partitions, JobMetrics.Accumulators acc) {
    return partials
        .repartition(partitions, functions.col(TokenTable.DOC_ID), functions.col(TokenTable.HEAD), functions.col("block"))
        .sortWithinPartitions(TokenTable.DOC_ID, TokenTable.HEAD, "block")
        .mapPartitions(new Merge(acc), Encoders.row(BlockPartial.SCHEMA));
  }

  /** Small outputs and notebooks: stream the partials to the driver and merge them there. */
  public static Map<BlockKey, BlockPartial> onDriver(Iterator<Row> partials) {
    Map<BlockKey, BlockPartial> merged = new LinkedHashMap<>();
    while (partials.hasNext()) {
      Row p = partials.next();
      merged.merge(BlockPartial.key(p), BlockPartial.of(p), BlockPartial::mergeFrom);
    }
    return merged;
  }

  /** Merges runs of rows with the same Q block (rows arrive sorted by block). */
  private static final class Merge implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final JobMetrics.Accumulators acc;

    Merge(JobMetrics.Accumulators acc) {
      this.acc = acc;
    }

    @Override public Iterator<Row> call(Iterator<Row> sorted) {
      if (acc != null && TaskContext.get() != null) {
        acc.mergeStages.add(TaskContext.get().stageId());
      }
      return new Iterator<>() {
        private Row pending = sorted.hasNext() ? sorted.next() : null;

        @Override public boolean hasNext() {
          return pending != null;
        }

        @Override public Row next() {
          if (pending == null) {
            throw new java.util.NoSuchElementException();
          }
          long start = System.nanoTime();
          BlockKey key = BlockPartial.key(pending);
          BlockPartial merged = BlockPartial.of(pending);
          pending = null;
          while (sorted.hasNext()) {
            Row r = sorted.next();
            if (!BlockPartial.key(r).equals(key)) {
              pending = r;
              break;
            }
            merged.mergeFrom(BlockPartial.of(r));
          }
          if (acc != null) {
            acc.mergeNanos.add(System.nanoTime() - start);
          }
          return merged.toRow(key, true);
        }
      };
    }
  }
}
