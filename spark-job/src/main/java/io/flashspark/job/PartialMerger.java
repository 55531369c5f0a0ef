package io.flashspark.job;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaPairRDD;
import scala.Tuple2;

/**
 * Combines the partials of each Q block. Both ways apply the same associative merge
 * ({@link io.flashspark.attention.Partial#mergeFrom}), so they agree within rounding.
 */
public final class PartialMerger {
  private PartialMerger() {}

  /**
   * Batch jobs: reduce by Q block. reduceByKey combines map-side first, so the partials an
   * executor produced for one Q block are merged before the shuffle.
   */
  public static JavaPairRDD<BlockKey, BlockPartial> distributed(
      JavaPairRDD<BlockKey, BlockPartial> partials, int partitions) {
    return partials.reduceByKey(BlockPartial::mergeFrom, partitions);
  }

  /** Small outputs and notebooks: stream the partials to the driver and merge them there. */
  public static Map<BlockKey, BlockPartial> onDriver(Iterator<Tuple2<BlockKey, BlockPartial>> partials) {
    Map<BlockKey, BlockPartial> merged = new LinkedHashMap<>();
    while (partials.hasNext()) {
      Tuple2<BlockKey, BlockPartial> p = partials.next();
      merged.merge(p._1(), p._2(), BlockPartial::mergeFrom);
    }
    return merged;
  }
}
