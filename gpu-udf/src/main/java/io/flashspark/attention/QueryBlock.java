package io.flashspark.attention;

import java.io.Serializable;

/**
 * Query rows of one (document, head): {@code q} row-major {@code [rows][dim]} and each row's
 * position in the document (used only by causal masking).
 */
public record QueryBlock(int rows, int dim, float[] q, long[] pos) implements Serializable {
  public QueryBlock {
    Shapes.check("q", q, pos, rows, dim);
  }
}
