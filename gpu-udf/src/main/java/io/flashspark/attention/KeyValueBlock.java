package io.flashspark.attention;

import java.io.Serializable;

/**
 * Keys and values of one (document, head), row-major {@code [rows][dim]}, with each key's
 * position in the document, so a block knows where it sits for causal masking; {@code packed},
 * when not null, is the same rows in their packed input form ({@link PackedRows}).
 */
public record KeyValueBlock(int rows, int dim, float[] k, float[] v, long[] pos, PackedRows packed)
    implements Serializable {
  public KeyValueBlock {
    Shapes.check("k", k, pos, rows, dim);
    Shapes.check("v", v, pos, rows, dim);
  }

  public KeyValueBlock(int rows, int dim, float[] k, float[] v, long[] pos) {
    this(rows, dim, k, v, pos, null);
  }
}
