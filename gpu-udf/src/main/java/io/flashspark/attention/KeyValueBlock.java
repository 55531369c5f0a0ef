package io.flashspark.attention;

import java.io.Serializable;

/**
 * Keys and values of one (document, head), row-major {@code [rows][dim]}, with each key's
 * position in the document, so a block knows where it sits for causal masking.
 */
public record KeyValueBlock(int rows, int dim, float[] k, float[] v, long[] pos)
    implements Serializable {
  public KeyValueBlock {
    Shapes.check("k", k, pos, rows, dim);
    Shapes.check("v", v, pos, rows, dim);
  }
}
