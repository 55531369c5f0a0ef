package io.flashspark.attention;

final class Shapes {
  private Shapes() {}

  /**
   * Checks a block's shape: its fp32 values (when given: a packed block widens them only when
   * asked) and its packed form (when given) hold {@code rows} rows of {@code dim}, and {@code pos}
   * one position per row.
   */
  static void check(String name, float[] values, PackedRows packed, long[] pos, int rows, int dim) {
    if (rows < 0 || dim < 1 || dim > TiledAttention.MAX_DIM) {
      throw new IllegalArgumentException(
          "bad shape rows=" + rows + " dim=" + dim + " (dim must be 1.." + TiledAttention.MAX_DIM + ")");
    }
    if (packed != null && (packed.rows() != rows || packed.dim() != dim)) {
      throw new IllegalArgumentException(name + ": packed rows of " + packed.rows() + " x " + packed.dim()
          + " but the block is " + rows + " x " + dim);
    }
    if (values != null && values.length != (long) rows * dim) {
      throw new IllegalArgumentException(
          name + " has " + values.length + " values, expected rows*dim=" + rows + "*" + dim);
    }
    if (pos.length != rows) {
      throw new IllegalArgumentException(
          "pos has " + pos.length + " entries, expected " + rows + " (" + name + ")");
    }
  }
}
