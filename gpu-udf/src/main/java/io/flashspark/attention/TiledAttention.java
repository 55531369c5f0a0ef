package io.flashspark.attention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU FlashAttention forward: the GPU kernel's algorithm in plain Java.
 *
 * <p>Query rows are cut into tiles of {@link #TILE_Q} rows and keys into tiles of
 * {@link #TILE_K}. For each query tile a running row max {@code m}, row sum {@code l} and an
 * unnormalised output accumulator are kept while every key tile streams past ("scores = Q K^T,
 * mask, row max, exp, rescale, += P V"); only one {@code TILE_Q x TILE_K} tile of scores ever
 * exists. Causal masking uses global positions: a key tile wholly after the query tile is
 * skipped, a tile straddling the diagonal is masked element-wise.
 *
 * <p>Parallel over query tiles (and, through {@link #forwardAll}, over heads/blocks) on a shared
 * fork-join pool, so concurrent Spark tasks in one executor never oversubscribe its cores.
 */
public final class TiledAttention {
  public static final int MAX_DIM = 256;
  /**
   * Tile sizes: 32 query rows keep the output accumulator ({@code 32 x d} floats, 16 KiB at
   * d=128) and the score tile in L1/L2, 64 keys are four 16-lane vectors per register-blocked
   * row group. Measured with KernelBench on the 2-core development VM (N=2048, d 64/128): TILE_Q
   * 32..64 and TILE_K 32..256 all land within the run-to-run noise (±15%), so the smallest
   * working set was kept.
   */
  static final int TILE_Q = 32;
  static final int TILE_K = 64;

  /** One pool per JVM, a thread per core (the common pool leaves one core idle). */
  /** SIMD inner loops where the JVM has the Vector API, plain loops otherwise. */
  static final TileMath MATH = TileMath.best();

  /** Which inner loops this JVM runs ("VectorTileMath" or "ScalarTileMath"), for logs and benchmarks. */
  public static String innerLoops() {
    return MATH.getClass().getSimpleName();
  }

  private static final class Pool {
    static final ForkJoinPool INSTANCE =
        new ForkJoinPool(Runtime.getRuntime().availableProcessors());
  }

  private TiledAttention() {}

  /** Attention of {@code q} over the union of {@code kvs}, single-threaded. */
  public static Partial forward(QueryBlock q, List<KeyValueBlock> kvs, AttentionSpec spec) {
    Problem problem = new Problem(q, kvs, spec, new IdentityHashMap<>());
    problem.run(0, q.rows());
    return problem.out;
  }

  /** Same result as {@link #forward}, query tiles spread over the shared pool. */
  public static Partial forwardParallel(QueryBlock q, List<KeyValueBlock> kvs, AttentionSpec spec) {
    return forwardAll(List.of(q), List.of(kvs), spec).get(0);
  }

  /**
   * Many independent problems at once ({@code queries.get(i)} over {@code kvs.get(i)}), all their
   * query tiles spread over the shared pool.
   */
  public static List<Partial> forwardAll(
      List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec) {
    if (queries.size() != kvs.size()) {
      throw new IllegalArgumentException(queries.size() + " query blocks but " + kvs.size() + " kv lists");
    }
    List<Problem> problems = new ArrayList<>(queries.size());
    List<RecursiveAction> tiles = new ArrayList<>();
    Map<KeyValueBlock, PreparedKeys> prepared = new IdentityHashMap<>();
    for (int i = 0; i < queries.size(); i++) {
      Problem problem = new Problem(queries.get(i), kvs.get(i), spec, prepared);
      problems.add(problem);
      for (int r0 = 0; r0 < problem.q.rows(); r0 += TILE_Q) {
        int start = r0;
        int end = Math.min(r0 + TILE_Q, problem.q.rows());
        tiles.add(new RecursiveAction() {
          @Override protected void compute() {
            problem.run(start, end);
          }
        });
      }
    }
    if (tiles.size() == 1) {
      tiles.get(0).invoke();
    } else if (tiles.size() > 1) {
      Pool.INSTANCE.invoke(new RecursiveAction() {
        @Override protected void compute() {
          invokeAll(tiles);
        }
      });
    }
    List<Partial> out = new ArrayList<>(problems.size());
    for (Problem problem : problems) {
      out.add(problem.out);
    }
    return out;
  }

  /** A key/value block rounded to the call's precision, with its keys transposed {@code [dim][rows]}. */
  private record PreparedKeys(KeyValueBlock block, float[] keysTransposed) {
    static PreparedKeys of(KeyValueBlock kv, Precision precision) {
      KeyValueBlock rounded = alreadyIn(precision, kv.packed()) ? kv : new KeyValueBlock(kv.rows(), kv.dim(),
          precision.roundAll(kv.k()), precision.roundAll(kv.v()), kv.pos());
      return new PreparedKeys(rounded, transpose(rounded.k(), rounded.rows(), rounded.dim()));
    }
  }

  /** One query block against its key/value blocks; {@link #run} fills a range of its rows. */
  private static final class Problem {
    final QueryBlock q;
    final List<KeyValueBlock> kvs;
    final List<float[]> keysTransposed = new ArrayList<>();
    final float scale;
    final boolean causal;
    final int dim;
    final Partial out;

    /** {@code prepared}: blocks already rounded and transposed in this call, shared by identity. */
    Problem(QueryBlock query, List<KeyValueBlock> kvBlocks, AttentionSpec spec,
        Map<KeyValueBlock, PreparedKeys> prepared) {
      Precision precision = spec.precision();
      this.dim = query.dim();
      this.q = alreadyIn(precision, query.packed()) ? query
          : new QueryBlock(query.rows(), dim, precision.roundAll(query.q()), query.pos());
      this.kvs = new ArrayList<>(kvBlocks.size());
      for (KeyValueBlock kv : kvBlocks) {
        if (kv.dim() != dim) {
          throw new IllegalArgumentException("query dim " + dim + " but key/value dim " + kv.dim());
        }
        PreparedKeys keys = prepared.computeIfAbsent(kv, b -> PreparedKeys.of(b, precision));
        kvs.add(keys.block());
        keysTransposed.add(keys.keysTransposed());
      }
      this.scale = (float) spec.scaleFor(dim);
      this.causal = spec.causal();
      this.out = Partial.empty(query.rows(), dim);
    }

    void run(int rowStart, int rowEnd) {
      for (int r0 = rowStart; r0 < rowEnd; r0 += TILE_Q) {
        queryTile(r0, Math.min(r0 + TILE_Q, rowEnd));
      }
    }

    private void queryTile(int r0, int r1) {
      int rows = r1 - r0;
      float[] qs = new float[rows * dim];
      long qMin = Long.MAX_VALUE;
      long qMax = Long.MIN_VALUE;
      for (int i = 0; i < rows; i++) {
        for (int c = 0; c < dim; c++) {
          qs[i * dim + c] = q.q()[(r0 + i) * dim + c] * scale;
        }
        qMin = Math.min(qMin, q.pos()[r0 + i]);
        qMax = Math.max(qMax, q.pos()[r0 + i]);
      }
      float[] acc = new float[rows * dim];
      float[] rowMax = new float[rows];
      float[] rowSum = new float[rows];
      Arrays.fill(rowMax, Float.NEGATIVE_INFINITY);
      float[] scores = new float[rows * TILE_K];

      for (int b = 0; b < kvs.size(); b++) {
        KeyValueBlock kv = kvs.get(b);
        float[] kT = keysTransposed.get(b);
        for (int c0 = 0; c0 < kv.rows(); c0 += TILE_K) {
          int c1 = Math.min(c0 + TILE_K, kv.rows());
          boolean mask = false;
          if (causal) {
            long kMin = Long.MAX_VALUE;
            long kMax = Long.MIN_VALUE;
            for (int j = c0; j < c1; j++) {
              kMin = Math.min(kMin, kv.pos()[j]);
              kMax = Math.max(kMax, kv.pos()[j]);
            }
            if (kMin > qMax) {
              continue; // every key of this tile lies after every query of the tile
            }
            mask = kMax > qMin;
          }
          keyTile(kv, kT, c0, c1, r0, rows, qs, scores, mask, acc, rowMax, rowSum);
        }
      }
      finish(r0, rows, acc, rowMax, rowSum);
    }

    /** scores = Qs K^T for one key tile, then the online-softmax update of the running state. */
    private void keyTile(KeyValueBlock kv, float[] kT, int c0, int c1, int r0, int rows,
        float[] qs, float[] scores, boolean mask, float[] acc, float[] rowMax, float[] rowSum) {
      int n = c1 - c0;
      MATH.scores(qs, rows, dim, kT, kv.rows(), c0, n, scores, TILE_K);
      for (int i = 0; i < rows; i++) {
        int sBase = i * TILE_K;
        if (mask) {
          long qp = q.pos()[r0 + i];
          for (int j = 0; j < n; j++) {
            if (kv.pos()[c0 + j] > qp) {
              scores[sBase + j] = Float.NEGATIVE_INFINITY;
            }
          }
        }
        float tileMax = MATH.max(scores, sBase, n);
        if (tileMax == Float.NEGATIVE_INFINITY) {
          Arrays.fill(scores, sBase, sBase + n, 0f); // this row sees no key of the tile: p = 0
          continue;
        }
        float newMax = Math.max(rowMax[i], tileMax);
        float correction = (float) Math.exp(rowMax[i] - newMax); // 0 when rowMax was -inf
        rowSum[i] = rowSum[i] * correction + MATH.expShifted(scores, sBase, n, newMax);
        rowMax[i] = newMax;
        if (correction != 1f) {
          MATH.scale(acc, i * dim, dim, correction);
        }
      }
      MATH.accumulate(acc, rows, dim, scores, TILE_K, n, kv.v(), c0);
    }

    private void finish(int r0, int rows, float[] acc, float[] rowMax, float[] rowSum) {
      float[] o = out.o();
      for (int i = 0; i < rows; i++) {
        int r = r0 + i;
        if (!(rowSum[i] > 0f)) {
          continue; // stays empty: m = -inf, l = 0, o = 0
        }
        float inv = 1f / rowSum[i];
        for (int c = 0; c < dim; c++) {
          o[r * dim + c] = acc[i * dim + c] * inv;
        }
        out.m()[r] = rowMax[i];
        out.l()[r] = rowSum[i];
      }
    }
  }

  /** Whether values need no rounding to {@code precision}: fp32, or widened from that very encoding. */
  private static boolean alreadyIn(Precision precision, PackedRows packed) {
    return precision == Precision.FP32 || (packed != null && packed.encoding() == precision);
  }

  static float[] transpose(float[] rowMajor, int rows, int cols) {
    float[] t = new float[rows * cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = rowMajor[r * cols + c];
      }
    }
    return t;
  }
}
