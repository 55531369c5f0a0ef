package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.List;

/** Times OutputTable.Rows alone: computed blocks -> output rows, no writer. */
public class RowsTime {
  public static void main(String[] a) {
    int blocks = Integer.parseInt(a[0]);
    VectorEncoding format = OutputTable.parseFormat(a[1]);
    int rows = 2048, dim = 128;
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
    float[] o = new float[rows * dim];
    for (int i = 0; i < o.length; i++) o[i] = (float) rnd.nextGaussian();
    float[] m = new float[rows], l = new float[rows];
    java.util.Arrays.fill(l, 1f);
    List<CellTask.Computed> out = new ArrayList<>();
    for (int b = 0; b < blocks; b++) {
      long[] pos = new long[rows];
      for (int r = 0; r < rows; r++) pos[r] = (long) b * rows + r;
      out.add(new CellTask.Computed(new BlockKey(new DocHead("doc-00000", 0), b), new BlockPartial(pos, new Partial(rows, dim, o, m, l)), true));
    }
    for (int rep = 0; rep < 8; rep++) {
      long t0 = System.nanoTime();
      OutputTable.Rows it = new OutputTable.Rows(out.iterator(), format);
      long n = 0, h = 0;
      while (it.hasNext()) { h += ((org.apache.spark.sql.catalyst.expressions.UnsafeRow) it.next()).getSizeInBytes(); n++; }
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("%s rows only: %d rows in %.3f s: %.3f us/row (%d)%n", a[1], n, s, s * 1e6 / n, h);
    }
  }
}
