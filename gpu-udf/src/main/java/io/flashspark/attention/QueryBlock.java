package io.flashspark.attention;

import java.io.Serializable;

/**
 * Query rows of one (document, head): {@code q} row-major {@code [rows][dim]} and each row's
 * position in the document (used only by causal masking). A block made from its packed form
 * ({@link PackedRows}) keeps it in {@link #packed} and widens q to fp32 only when something asks
 * for {@link #q}: the GPU copies the packed bytes and never does.
 */
public final class QueryBlock implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int rows;
  private final int dim;
  private final long[] pos;
  private final PackedRows packed;
  private float[] q;

  public QueryBlock(int rows, int dim, float[] q, long[] pos, PackedRows packed) {
    Shapes.check("q", q, packed, pos, rows, dim); // no stand-in array: a block is often 1 MB of q
    if (q == null && packed == null) {
      throw new IllegalArgumentException("a query block needs q or its packed form");
    }
    this.rows = rows;
    this.dim = dim;
    this.q = q;
    this.pos = pos;
    this.packed = packed;
  }

  public QueryBlock(int rows, int dim, float[] q, long[] pos) {
    this(rows, dim, q, pos, null);
  }

  public int rows() { return rows; }
  public int dim() { return dim; }
  public long[] pos() { return pos; }
  /** The packed form this block was made from, or null. */
  public PackedRows packed() { return packed; }

  /** q as fp32, row-major {@code [rows][dim]} (widened from the packed form on first use). */
  public synchronized float[] q() {
    if (q == null) {
      q = packed.decode(0);
    }
    return q;
  }
}
