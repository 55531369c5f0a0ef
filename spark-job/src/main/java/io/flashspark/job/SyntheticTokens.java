package io.flashspark.job;

import io.flashspark.attention.Gaussian;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

/**
 * Synthetic documents: {@code docs} documents of {@code tokens} positions and {@code heads}
 * heads, q, k, v standard normal. Each row's values depend only on (seed, doc, head, pos), so any
 * partitioning writes the same table.
 */
public final class SyntheticTokens {
  private SyntheticTokens() {}

  public static String docId(int doc) {
    return String.format("doc-%05d", doc);
  }

  public static Dataset<Row> generate(SparkSession spark, int docs, long tokens, int heads, int dim, long seed,
      VectorEncoding encoding) {
    if (docs < 1 || tokens < 1 || heads < 1 || dim < 1 || dim > 256) {
      throw new InputException("generate needs docs, tokens, heads >= 1 and 1 <= dim <= 256");
    }
    long total = docs * tokens * heads;
    int partitions = (int) Math.max(spark.sparkContext().defaultParallelism(), Math.min(total / 65536, 100000));
    JavaRDD<Row> rows = spark.range(0, total, 1, partitions).javaRDD().map(index -> {
      long pos = index % tokens;
      long rest = index / tokens;
      int head = (int) (rest % heads);
      int doc = (int) (rest / heads);
      SplittableRandom rnd = new SplittableRandom(mix(seed, doc, head, pos));
      List<Object> values = new ArrayList<>(List.of(docId(doc), head, pos));
      for (int c = 0; c < 3; c++) {
        float[] x = new float[dim];
        for (int i = 0; i < dim; i++) {
          x[i] = (float) Gaussian.next(rnd);
        }
        values.add(encoding.packed() ? encoding.encode(x) : x);
      }
      return RowFactory.create(values.toArray());
    });
    return spark.createDataFrame(rows, TokenTable.schema(encoding, List.of("q", "k", "v")));
  }

  static long mix(long seed, int doc, int head, long pos) {
    long h = seed * 0x9E3779B97F4A7C15L;
    h ^= (doc + 0x632BE59BD9B4E019L) * 0xBF58476D1CE4E5B9L;
    h = Long.rotateLeft(h, 27) ^ (head * 0x94D049BB133111EBL);
    h = Long.rotateLeft(h, 31) ^ (pos * 0xD6E8FEB86659FD93L);
    return h;
  }
}
