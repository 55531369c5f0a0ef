package io.flashspark.attention;

import java.io.Serializable;

/**
 * Keys and values of one (document, head), row-major {@code [rows][dim]}, with each key's
 * position in the document, so a block knows where it sits for causal masking. A block made from
 * its packed form ({@link PackedRows}) keeps it in {@link #packed} and widens k and v to fp32 only
 * when something asks for them: the GPU copies the packed bytes and never does.
 */
public final class KeyValueBlock implements Serializable {
  private static final long serialVersionUID = 1L;
  private final int rows;
  private final int dim;
  private final long[] pos;
  private final PackedRows packed;
  private float[] k;
  private float[] v;

  public KeyValueBlock(int rows, int dim, float[] k, float[] v, long[] pos, PackedRows packed) {
    Shapes.check("k", k, packed, pos, rows, dim);
    Shapes.check("v", v, packed, pos, rows, dim);
    if ((k == null || v == null) && packed == null) {
      throw new IllegalArgumentException("a key/value block needs k and v or their packed form");
    }
    this.rows = rows;
    this.dim = dim;
    this.k = k;
    this.v = v;
    this.pos = pos;
    this.packed = packed;
  }

  public KeyValueBlock(int rows, int dim, float[] k, float[] v, long[] pos) {
    this(rows, dim, k, v, pos, null);
  }

  public int rows() { return rows; }
  public int dim() { return dim; }
  public long[] pos() { return pos; }
  /** The packed form this block was made from, or null. */
  public PackedRows packed() { return packed; }

  /** Keys as fp32, row-major (widened from the packed form on first use). */
  public synchronized float[] k() {
    if (k == null) {
      k = packed.decode(0);
    }
    return k;
  }

  /** Values as fp32, row-major (widened from the packed form on first use). */
  public synchronized float[] v() {
    if (v == null) {
      v = packed.decode(1);
    }
    return v;
  }
}
