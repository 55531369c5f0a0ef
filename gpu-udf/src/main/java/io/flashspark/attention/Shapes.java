package io.flashspark.attention;

final class Shapes {
  private Shapes() {}

  static void check(String name, float[] values, long[] pos, int rows, int dim) {
    if (rows < 0 || dim < 1 || dim > TiledAttention.MAX_DIM) {
      throw new IllegalArgumentException(
          "bad shape rows=" + rows + " dim=" + dim + " (dim must be 1.." + TiledAttention.MAX_DIM + ")");
    }
    if (values.length != (long) rows * dim) {
      throw new IllegalArgumentException(
          name + " has " + values.length + " values, expected rows*dim=" + rows + "*" + dim);
    }
    if (pos.length != rows) {
      throw new IllegalArgumentException(
          "pos has " + pos.length + " entries, expected " + rows + " (" + name + ")");
    }
  }
}
