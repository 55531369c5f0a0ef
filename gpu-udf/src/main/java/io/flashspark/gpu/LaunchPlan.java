package io.flashspark.gpu;

import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.PackedRows;
import io.flashspark.attention.Partial;
import io.flashspark.attention.QueryBlock;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * How one backend call maps onto one forward-kernel launch (pure Java: tested without a GPU).
 *
 * <p>Device input layout, rows of {@code dim} values: all query rows first, then all distinct
 * key/value blocks ({@code K} and {@code V} share row numbers). A <em>segment</em> is one kernel
 * problem: query rows {@code [qRow0, qRow0+qLen)} against key rows {@code [kRow0, kRow0+kLen)}.
 * Causal masking comes from the rows' positions, however sparse: per query row the kernel reads
 * the index of its last visible key ({@link #keyLimitTable}). A segment's positions must ascend,
 * so blocks are cut only where they do not (never, for the Spark job's sorted blocks); adjacent
 * key blocks are joined, and a query block that needs several key segments gets a copy of its
 * rows per extra segment; the backend merges those rows' partials on the host. Work tiles are
 * {@code blockM} query rows of a segment, listed heaviest first for causal launches so the
 * longest tiles start early.
 */
public final class LaunchPlan {
  /** One kernel problem; {@code query}/{@code queryRow} say which caller rows it computes. */
  public record Segment(long qRow0, int qLen, long kRow0, int kLen, long qPos0, long kPos0, int query, int queryRow) {}

  /**
   * A copy of caller rows into the device input: {@code rows} rows from {@code source} (fp32,
   * asked for only when used), or as they are from vector {@code vector} of {@code packed} when
   * the caller has its packed form.
   */
  public record Copy(java.util.function.Supplier<float[]> source, int sourceRow, long deviceRow, int rows,
      PackedRows packed, int vector) {}

  /**
   * Whether every input row of this launch is available packed in {@code precision}, so the
   * backend can stage the bytes as they are (no fp32 staging, no conversion on the device).
   */
  public boolean packedIn(io.flashspark.attention.Precision precision) {
    for (List<Copy> copies : List.of(queryCopies, keyCopies, valueCopies)) {
      for (Copy c : copies) {
        if (c.packed() == null || c.packed().encoding() != precision) {
          return false;
        }
      }
    }
    return true;
  }

  private final int dim;
  private final List<Copy> queryCopies = new ArrayList<>();
  private final List<Copy> keyCopies = new ArrayList<>();
  private final List<Copy> valueCopies = new ArrayList<>();
  private final List<Segment> segments = new ArrayList<>();
  private final int[] tiles;
  private long queryRows;
  private long keyRows;
  private final long[] queryRowStart;
  private boolean extraQueryCopies;
  private final int[] keyLimit;

  private LaunchPlan(int dim, List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, boolean causal, int blockM) {
    this.dim = dim;
    Map<KeyValueBlock, Long> kvRow = new IdentityHashMap<>();
    for (List<KeyValueBlock> list : kvs) {
      for (KeyValueBlock kv : list) {
        if (kv.dim() != dim) {
          throw new IllegalArgumentException("key/value dim " + kv.dim() + " but query dim " + dim);
        }
        if (!kvRow.containsKey(kv)) {
          kvRow.put(kv, keyRows);
          keyCopies.add(new Copy(kv::k, 0, keyRows, kv.rows(), kv.packed(), 0));
          valueCopies.add(new Copy(kv::v, 0, keyRows, kv.rows(), kv.packed(), 1));
          keyRows += kv.rows();
        }
      }
    }
    // query rows first pass: the original rows; extra copies are appended after them
    long[] queryRow0 = new long[queries.size()];
    this.queryRowStart = queryRow0;
    for (int i = 0; i < queries.size(); i++) {
      QueryBlock q = queries.get(i);
      if (q.dim() != dim) {
        throw new IllegalArgumentException("query dims differ: " + q.dim() + " and " + dim);
      }
      queryRow0[i] = queryRows;
      queryCopies.add(new Copy(q::q, 0, queryRows, q.rows(), q.packed(), 0));
      queryRows += q.rows();
    }
    // a KV block's runs once, not once per query block that sees it (a cell's Q blocks each see
    // up to all of its KV blocks: per query block that would be a pass over every visible key)
    Map<KeyValueBlock, List<int[]>> kvRuns = new IdentityHashMap<>();
    for (KeyValueBlock kv : kvRow.keySet()) {
      kvRuns.put(kv, runs(kv.pos(), causal));
    }
    List<KeyValueBlock> previousList = null;
    List<long[]> previousSegments = null;
    for (int i = 0; i < queries.size(); i++) {
      QueryBlock q = queries.get(i);
      List<KeyValueBlock> list = kvs.get(i);
      List<long[]> keySegments = new ArrayList<>(); // kRow0, kLen, kPos0, last kPos
      int from = 0;
      if (previousList != null && startsWith(list, previousList)) {
        // the usual causal cell: each query block sees the previous one's key blocks and a few
        // more, so its segments continue the previous ones (only the last can still grow) instead
        // of a pass over every visible key block per query block
        keySegments.addAll(previousSegments);
        if (!keySegments.isEmpty()) {
          keySegments.set(keySegments.size() - 1, keySegments.get(keySegments.size() - 1).clone());
        }
        from = previousList.size();
      }
      for (KeyValueBlock kv : list.subList(from, list.size())) {
        long base = kvRow.get(kv);
        for (int[] run : kvRuns.get(kv)) {
          long kRow0 = base + run[0];
          long kPos0 = kv.pos()[run[0]];
          long kPosLast = kv.pos()[run[0] + run[1] - 1];
          long[] last = keySegments.isEmpty() ? null : keySegments.get(keySegments.size() - 1);
          if (last != null && last[0] + last[1] == kRow0 && (!causal || last[3] < kPos0)
              && last[1] + run[1] <= Integer.MAX_VALUE) {
            last[1] += run[1];
            last[3] = kPosLast;
          } else {
            keySegments.add(new long[] {kRow0, run[1], kPos0, kPosLast});
          }
        }
      }
      previousList = list;
      previousSegments = keySegments;
      for (int[] qRun : runs(q.pos(), causal)) {
        boolean first = true;
        for (long[] ks : keySegments) {
          long qRow0;
          if (first) {
            qRow0 = queryRow0[i] + qRun[0];
            first = false;
          } else {
            qRow0 = queryRows;
            extraQueryCopies = true;
            queryCopies.add(new Copy(q::q, qRun[0], queryRows, qRun[1], q.packed(), 0));
            queryRows += qRun[1];
          }
          segments.add(new Segment(qRow0, qRun[1], ks[0], (int) ks[1], q.pos()[qRun[0]], ks[2], i, qRun[0]));
        }
      }
    }
    this.keyLimit = keyLimits(queries, kvs, kvRow, causal);
    this.tiles = tiles(segments, keyLimit, causal, blockM);
  }

  public static LaunchPlan build(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, boolean causal, int blockM) {
    if (queries.size() != kvs.size()) {
      throw new IllegalArgumentException(queries.size() + " query blocks but " + kvs.size() + " kv lists");
    }
    int dim = queries.isEmpty() ? 1 : queries.get(0).dim();
    return new LaunchPlan(dim, queries, kvs, causal, blockM);
  }

  private static final java.util.concurrent.atomic.AtomicBoolean WARMED_UP = new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Builds a synthetic causal plan ({@code blocks} dense blocks of 2048 rows, each query block
   * seeing the key blocks up to its own, as a causal cell's) {@code times} times, once per JVM, so
   * that the JIT has compiled {@link #build} before the first real cell needs it: called by a
   * cell's compute thread while it waits for its blocks to be read. One thread on the development
   * VM: a 1M-row causal plan took 107–168 ms cold, 33–43 ms after two 256-block plans (87–148 ms,
   * spent while the blocks were read). Returns the milliseconds it took, or -1 where it ran before.
   */
  public static long warmUp(int blocks, int times) {
    if (!WARMED_UP.compareAndSet(false, true)) {
      return -1;
    }
    long start = System.nanoTime();
    for (int i = 0; i < times; i++) {
      denseCausal(blocks, 2048);
    }
    return (System.nanoTime() - start) / 1_000_000;
  }

  /** A causal plan over {@code blocks} blocks of {@code rows} consecutive positions (no data: planning reads none). */
  static LaunchPlan denseCausal(int blocks, int rows) {
    int dim = 128;
    float[] zeros = new float[rows * dim]; // shared by every block: planning reads no values
    List<QueryBlock> queries = new ArrayList<>(blocks);
    List<KeyValueBlock> keys = new ArrayList<>(blocks);
    for (int b = 0; b < blocks; b++) {
      long[] pos = new long[rows];
      for (int r = 0; r < rows; r++) {
        pos[r] = (long) b * rows + r;
      }
      queries.add(new QueryBlock(rows, dim, zeros, pos, null));
      keys.add(new KeyValueBlock(rows, dim, zeros, zeros, pos, null));
    }
    List<List<KeyValueBlock>> visible = new ArrayList<>(blocks);
    for (int b = 0; b < blocks; b++) {
      visible.add(keys.subList(0, b + 1));
    }
    return build(queries, visible, true, 128);
  }

  /** Whether {@code list} begins with the very blocks of {@code prefix}, in order. */
  private static boolean startsWith(List<KeyValueBlock> list, List<KeyValueBlock> prefix) {
    if (prefix.size() > list.size()) {
      return false;
    }
    for (int j = 0; j < prefix.size(); j++) {
      if (list.get(j) != prefix.get(j)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Runs {start, length} of strictly ascending positions (the whole block when it is sorted, as
   * the Spark job's blocks are, however sparse); one run if not causal.
   */
  static List<int[]> runs(long[] pos, boolean causal) {
    List<int[]> out = new ArrayList<>();
    if (pos.length == 0) {
      return out;
    }
    if (!causal) {
      out.add(new int[] {0, pos.length});
      return out;
    }
    int start = 0;
    for (int i = 1; i <= pos.length; i++) {
      if (i == pos.length || pos[i] <= pos[i - 1]) {
        out.add(new int[] {start, i - start});
        start = i;
      }
    }
    return out;
  }

  /**
   * Per device query row, the index within its segment of the last key it may see: the last key
   * at a position <= the row's (-1: none) when causal, the segment's last key otherwise. Queries
   * and keys of a segment ascend: a binary search finds the first row's limit, a merge-like pass
   * the others, so a segment costs its query rows (not the keys before its diagonal).
   */
  private int[] keyLimits(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, Map<KeyValueBlock, Long> kvRow,
      boolean causal) {
    long[] keyPos = new long[Math.toIntExact(keyRows)];
    for (Map.Entry<KeyValueBlock, Long> e : kvRow.entrySet()) {
      System.arraycopy(e.getKey().pos(), 0, keyPos, Math.toIntExact(e.getValue()), e.getKey().rows());
    }
    int[] out = new int[Math.toIntExact(queryRows)];
    for (Segment g : segments) {
      long[] qPos = queries.get(g.query()).pos();
      // keys of the segment at positions <= the current row's, from the first row's by bisection
      int seen = causal && g.qLen() > 0 ? countAtMost(keyPos, g.kRow0(), g.kLen(), qPos[g.queryRow()]) : 0;
      for (int r = 0; r < g.qLen(); r++) {
        if (causal) {
          long p = qPos[g.queryRow() + r];
          while (seen < g.kLen() && keyPos[Math.toIntExact(g.kRow0() + seen)] <= p) {
            seen++;
          }
        } else {
          seen = g.kLen();
        }
        out[Math.toIntExact(g.qRow0() + r)] = seen - 1;
      }
    }
    return out;
  }

  /** How many of the {@code len} ascending positions from {@code from} are at most {@code p}. */
  static int countAtMost(long[] keyPos, long from, int len, long p) {
    int lo = 0;
    int hi = len;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (keyPos[Math.toIntExact(from + mid)] <= p) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /**
   * Per chunk of {@code chunks} ({@link #chunks}), the key rows {@code [0, n)} the kernel may read
   * for it and every chunk before it: for each of its segments, the rows up to its last query
   * row's last visible key, rounded up to whole key tiles of {@code tileRows} (the kernel loads a
   * tile whole and masks inside it, so a row it masks must still hold a finite value: a NaN there
   * would survive as 0 * NaN in P·V). Keys are laid out in the order the copies upload them, so a
   * causal launch can start its first chunk once this many key and value rows are up.
   */
  public long[] keyRowsNeeded(List<long[]> chunks, int tileRows) {
    int[] chunkOf = new int[queryRowStart.length];
    for (int c = 0; c < chunks.size(); c++) {
      for (int q = (int) chunks.get(c)[0]; q < (int) chunks.get(c)[1]; q++) {
        chunkOf[q] = c;
      }
    }
    long[] need = new long[chunks.size()];
    for (Segment g : segments) {
      if (g.qLen() == 0) {
        continue;
      }
      long visible = keyLimit[Math.toIntExact(g.qRow0() + g.qLen() - 1)] + 1L; // query positions ascend
      long rows = Math.min(g.kLen(), (visible + tileRows - 1) / tileRows * tileRows);
      int c = chunks.size() == 1 ? 0 : chunkOf[g.query()];
      need[c] = Math.max(need[c], g.kRow0() + rows);
    }
    for (int c = 1; c < need.length; c++) {
      need[c] = Math.max(need[c], need[c - 1]);
    }
    return need;
  }

  /** The kernel's causal limits, one int32 per device query row (see {@link #keyLimits}). */
  public int[] keyLimitTable() {
    return keyLimit;
  }

  private static int[] tiles(List<Segment> segments, int[] keyLimit, boolean causal, int blockM) {
    List<long[]> list = new ArrayList<>(); // weight, segment, first row
    for (int s = 0; s < segments.size(); s++) {
      Segment seg = segments.get(s);
      for (int r = 0; r < seg.qLen(); r += blockM) {
        int lastRow = Math.toIntExact(seg.qRow0() + Math.min(seg.qLen(), r + blockM) - 1);
        long visible = causal ? keyLimit[lastRow] + 1L : seg.kLen();
        list.add(new long[] {visible, s, r});
      }
    }
    if (causal) {
      list.sort((a, b) -> Long.compare(b[0], a[0]));
    }
    int[] out = new int[list.size() * 2];
    for (int i = 0; i < list.size(); i++) {
      out[2 * i] = (int) list.get(i)[1];
      out[2 * i + 1] = (int) list.get(i)[2];
    }
    return out;
  }

  public int dim() { return dim; }
  public long queryRows() { return queryRows; }
  public long keyRows() { return keyRows; }
  public List<Copy> queryCopies() { return queryCopies; }
  public List<Copy> keyCopies() { return keyCopies; }
  public List<Copy> valueCopies() { return valueCopies; }
  public List<Segment> segments() { return segments; }
  public int numTiles() { return tiles.length / 2; }

  /**
   * CTAs of a persistent launch: no more than the GPU holds at once ({@code multiprocessors} x
   * {@code residentPerSm}), and no more than there are tiles.
   */
  static int persistentGrid(int numTiles, int multiprocessors, int residentPerSm) {
    if (numTiles < 1 || multiprocessors < 1 || residentPerSm < 1) {
      throw new IllegalArgumentException("tiles " + numTiles + ", SMs " + multiprocessors + ", per SM " + residentPerSm);
    }
    return (int) Math.min(numTiles, (long) multiprocessors * residentPerSm);
  }

  /** {segment, first query row of the tile} pairs, in launch order. */
  public int[] tiles() { return tiles.clone(); }

  /** The kernel's segment table: 6 int64 per segment. */
  public long[] segmentTable() {
    long[] out = new long[segments.size() * 6];
    for (int s = 0; s < segments.size(); s++) {
      Segment g = segments.get(s);
      long[] row = {g.qRow0(), g.qLen(), g.kRow0(), g.kLen(), g.qPos0(), g.kPos0()};
      System.arraycopy(row, 0, out, s * 6, 6);
    }
    return out;
  }

  /**
   * Consecutive query ranges for a pipelined launch ({@code {firstQuery, endQuery, firstRow,
   * endRow}}): each chunk's query rows are contiguous, so its rows can be copied in, computed and
   * copied out while other chunks are in flight. About {@code maxChunks} of equal rows, the last
   * of them cut into {@code tailPieces} (at query boundaries): the last chunk's partials are the
   * ones the caller still has to write once the GPU is done, so they are made small; one chunk
   * covering everything when rows were duplicated for extra segments (their copies lie after all
   * originals).
   */
  public List<long[]> chunks(int maxChunks, int tailPieces) {
    List<long[]> out = new ArrayList<>();
    int n = queryRowStart.length;
    if (extraQueryCopies || maxChunks <= 1 || n <= 1) {
      out.add(new long[] {0, n, 0, queryRows});
      return out;
    }
    long target = Math.max(1, (queryRows + maxChunks - 1) / maxChunks);
    long tailStart = queryRows - target; // rows from here go in pieces of about target / tailPieces
    long tailTarget = Math.max(1, target / Math.max(1, tailPieces));
    int first = 0;
    for (int i = 1; i <= n; i++) {
      long end = i == n ? queryRows : queryRowStart[i];
      long size = queryRowStart[first] >= tailStart ? tailTarget : Math.min(target, tailStart - queryRowStart[first]);
      if (i == n || end - queryRowStart[first] >= size) {
        out.add(new long[] {first, i, queryRowStart[first], end});
        first = i;
      }
    }
    return out;
  }

  /**
   * Tiles regrouped so that each chunk's tiles are contiguous (launch order kept within a chunk);
   * {@code tileStarts[c]} is where chunk c's tiles begin, {@code tileStarts[chunks]} the total.
   */
  public int[] tilesByChunk(List<long[]> chunks, int[] tileStarts) {
    int[] launch = tiles;
    int[] out = new int[launch.length];
    int k = 0;
    for (int c = 0; c < chunks.size(); c++) {
      tileStarts[c] = k / 2;
      for (int t = 0; t < launch.length; t += 2) {
        int query = segments.get(launch[t]).query();
        if (query >= chunks.get(c)[0] && query < chunks.get(c)[1]) {
          out[k++] = launch[t];
          out[k++] = launch[t + 1];
        }
      }
    }
    tileStarts[chunks.size()] = k / 2;
    return out;
  }

  /**
   * The callers' partials from the kernel's outputs ({@code o} {@code [queryRows][dim]}, {@code m},
   * {@code l} {@code [queryRows]}): rows of a query's segments are merged, rows no segment
   * covers stay empty.
   */
  public List<Partial> assemble(List<QueryBlock> queries, float[] o, float[] m, float[] l) {
    List<Partial> out = emptyPartials(queries);
    assembleRows(out, 0, queryRows, FloatBuffer.wrap(o), FloatBuffer.wrap(m), FloatBuffer.wrap(l));
    return out;
  }

  /**
   * Gives chunk {@code chunk}'s query blocks ({@link #chunks}) their empty partials in {@code
   * partials}: the rows of a chunk belong to its query blocks only, so {@link #assembleRows} over
   * the chunk's rows touches no other entry.
   */
  public void openChunk(long[] chunk, List<QueryBlock> queries, List<Partial> partials) {
    for (int i = (int) chunk[0]; i < (int) chunk[1]; i++) {
      partials.set(i, Partial.empty(queries.get(i).rows(), dim));
    }
  }

  public List<Partial> emptyPartials(List<QueryBlock> queries) {
    List<Partial> out = new ArrayList<>(queries.size());
    for (QueryBlock q : queries) {
      out.add(Partial.empty(q.rows(), dim));
    }
    return out;
  }

  /**
   * Folds the kernel's output for device query rows {@code [rowA, rowB)} into their partials:
   * {@code o} holds those rows ({@code dim} values each) from its index 0, {@code m} and
   * {@code l} one value per row; a range may cut a segment anywhere.
   */
  public void assembleRows(List<Partial> partials, long rowA, long rowB, FloatBuffer o, FloatBuffer m,
      FloatBuffer l) {
    int[] order = segmentsByRow();
    // the first segment (in device-row order) that ends after rowA
    int lo = 0;
    int hi = order.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      Segment g = segments.get(order[mid]);
      if (g.qRow0() + g.qLen() <= rowA) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    float[] row = new float[dim];
    for (int i = lo; i < order.length; i++) {
      Segment g = segments.get(order[i]);
      if (g.qRow0() >= rowB) {
        break;
      }
      Partial p = partials.get(g.query());
      long from = Math.max(g.qRow0(), rowA);
      long to = Math.min(g.qRow0() + g.qLen(), rowB);
      for (long r = from; r < to; r++) {
        int k = Math.toIntExact(r - rowA);
        o.get(k * dim, row);
        p.mergeRow(g.queryRow() + (int) (r - g.qRow0()), row, 0, m.get(k), l.get(k));
      }
    }
  }

  private int[] segmentsByRow;

  /** Segment indices by first device row (extra query copies lie after all originals). */
  private int[] segmentsByRow() {
    if (segmentsByRow == null) {
      segmentsByRow = java.util.stream.IntStream.range(0, segments.size()).boxed()
          .sorted(java.util.Comparator.comparingLong(i -> segments.get(i).qRow0())).mapToInt(Integer::intValue)
          .toArray();
    }
    return segmentsByRow;
  }

  @Override public String toString() {
    return "LaunchPlan{dim=" + dim + ", queryRows=" + queryRows + ", keyRows=" + keyRows + ", segments="
        + segments.size() + ", tiles=" + numTiles() + "}" + (segments.size() <= 4 ? " " + segments : "")
        + (numTiles() <= 4 ? " " + Arrays.toString(tiles) : "");
  }
}
