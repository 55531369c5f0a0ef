package io.flashspark.attention;

import java.util.List;

/**
 * The float64 reference: for each query row, every score materialised, softmax in double, no
 * tiling. Slow and simple on purpose; every fast path is tested against it. Rows are computed on
 * the common fork-join pool, each on one thread.
 */
public final class ReferenceAttention {
  private ReferenceAttention() {}

  /** Reference output rows and log-sum-exp of one query block over its key/value blocks. */
  public record Result(int rows, int dim, double[] o, double[] lse) {
    public double o(int row, int c) {
      return o[row * dim + c];
    }
  }

  public static Result forward(QueryBlock q, List<KeyValueBlock> kvs, AttentionSpec spec) {
    int dim = q.dim();
    double scale = spec.scaleFor(dim);
    Precision precision = spec.precision();
    int keys = 0;
    for (KeyValueBlock kv : kvs) {
      keys += kv.rows();
    }
    double[] o = new double[q.rows() * dim];
    double[] lse = new double[q.rows()];
    RoundedInputs rounded = new RoundedInputs(precision);
    float[] qr = rounded.q(q);
    for (KeyValueBlock kv : kvs) {
      rounded.k(kv); // every block rounded once, before the rows read them from several threads
    }
    int keyCount = keys;
    // rows are independent and each is summed in one order on one thread: the same bits as a
    // sequential loop (a sampled check of a 16M-key document is 16 rows x 16M keys in doubles)
    java.util.stream.IntStream rows = java.util.stream.IntStream.range(0, q.rows());
    (q.rows() > 1 ? rows.parallel() : rows).forEach(i -> {
      double[] scores = new double[keyCount];
      double max = Double.NEGATIVE_INFINITY;
      int idx = 0;
      for (KeyValueBlock kv : kvs) {
        float[] kr = rounded.k(kv);
        for (int j = 0; j < kv.rows(); j++, idx++) {
          if (spec.causal() && kv.pos()[j] > q.pos()[i]) {
            scores[idx] = Double.NEGATIVE_INFINITY;
            continue;
          }
          double dot = 0;
          for (int c = 0; c < dim; c++) {
            dot += (double) qr[i * dim + c] * kr[j * dim + c];
          }
          scores[idx] = dot * scale;
          max = Math.max(max, scores[idx]);
        }
      }
      if (max == Double.NEGATIVE_INFINITY) {
        lse[i] = Double.NEGATIVE_INFINITY; // no visible key: o stays 0
        return;
      }
      double sum = 0;
      idx = 0;
      for (KeyValueBlock kv : kvs) {
        float[] vr = rounded.v(kv);
        for (int j = 0; j < kv.rows(); j++, idx++) {
          double p = Math.exp(scores[idx] - max);
          sum += p;
          if (p == 0) {
            continue;
          }
          for (int c = 0; c < dim; c++) {
            o[i * dim + c] += p * vr[j * dim + c];
          }
        }
      }
      for (int c = 0; c < dim; c++) {
        o[i * dim + c] /= sum;
      }
      lse[i] = max + Math.log(sum);
    });
    return new Result(q.rows(), dim, o, lse);
  }
}
