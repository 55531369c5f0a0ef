package io.flashspark.job;

import java.io.Serializable;

/**
 * What the driver learns about one (document, head) before planning: row count, the job's head
 * dimension, block-index range. Summaries of blocks merge.
 */
public record DocSummary(DocHead docHead, long rows, int dim, long minBlock, long maxBlock) implements Serializable {
  public static DocSummary merge(DocSummary a, DocSummary b) {
    return new DocSummary(a.docHead, a.rows + b.rows, a.dim, Math.min(a.minBlock, b.minBlock),
        Math.max(a.maxBlock, b.maxBlock));
  }

  public long blocks() {
    return maxBlock - minBlock + 1;
  }
}
