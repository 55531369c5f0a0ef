package io.flashspark.attention;

import java.io.Serializable;

/**
 * Query rows of one (document, head): {@code q} row-major {@code [rows][dim]} and each row's
 * position in the document (used only by causal masking). {@code packed}, when not null, is the
 * same rows in their packed input form ({@link PackedRows}), which the GPU copies without conversion.
 */
public record QueryBlock(int rows, int dim, float[] q, long[] pos, PackedRows packed) implements Serializable {
  public QueryBlock {
    Shapes.check("q", q, pos, rows, dim);
  }

  public QueryBlock(int rows, int dim, float[] q, long[] pos) {
    this(rows, dim, q, pos, null);
  }
}
