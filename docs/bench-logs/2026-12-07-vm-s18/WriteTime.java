package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.*;

/** Times the output path alone: computed blocks -> output rows -> VectorParquetFormat, one task. */
public class WriteTime {
  public static void main(String[] a) throws Exception {
    int blocks = Integer.parseInt(a[0]);
    String format = a[1];
    SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int rows = 2048, dim = 128;
    for (int rep = 0; rep < 4; rep++) {
      JavaRDD<CellTask.Computed> computed = jsc.parallelize(List.of(0), 1).flatMap(x -> {
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
        return out.iterator();
      });
      Dataset<Row> df = OutputTable.fromComputed(computed, OutputTable.parseFormat(format), (org.apache.spark.sql.classic.SparkSession) spark);
      String path = "/tmp/scratch/wt-out";
      long t0 = System.nanoTime();
      TokenTable.writeParquet(df, path, "overwrite");
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("%s: %d rows in %.2f s: %.2f us/row, %.0f MB/s of floats%n", format, (long) blocks * rows, s,
          s * 1e6 / ((long) blocks * rows), (long) blocks * rows * dim * 4 / s / 1e6);
    }
  }
}
