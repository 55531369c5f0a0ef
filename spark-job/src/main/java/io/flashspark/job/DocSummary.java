package io.flashspark.job;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * What the driver learns about one (document, head) before planning: row count, dimension,
 * block-index range and every problem found (capped). Summaries of blocks merge.
 */
public record DocSummary(DocHead docHead, long rows, int dim, long minBlock, long maxBlock,
    List<String> problems) implements Serializable {
  static final int MAX_PROBLEMS = 5;

  public static DocSummary merge(DocSummary a, DocSummary b) {
    List<String> problems = new ArrayList<>(a.problems);
    for (String p : b.problems) {
      if (problems.size() < MAX_PROBLEMS) {
        problems.add(p);
      }
    }
    int dim = a.dim >= 0 ? a.dim : b.dim;
    if (a.dim >= 0 && b.dim >= 0 && a.dim != b.dim && problems.size() < MAX_PROBLEMS) {
      problems.add(a.docHead + ": rows have different dimensions (" + a.dim + " and " + b.dim + ")");
    }
    return new DocSummary(a.docHead, a.rows + b.rows, dim, Math.min(a.minBlock, b.minBlock),
        Math.max(a.maxBlock, b.maxBlock), problems);
  }

  public long blocks() {
    return maxBlock - minBlock + 1;
  }
}
