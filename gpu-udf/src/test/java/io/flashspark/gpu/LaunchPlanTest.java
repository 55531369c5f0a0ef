package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.Partial;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.ReferenceAttention;
import io.flashspark.attention.TiledAttention;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The launch plan, executed by a CPU stand-in for the kernel that follows the kernel's ABI
 * (segments with implicit contiguous positions, outputs at device rows), then assembled and
 * compared with the float64 reference. This checks the plan and the host-side merge without a GPU.
 */
class LaunchPlanTest {
  private static float[] gaussian(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (rnd.nextDouble() * 2 - 1);
    }
    return x;
  }

  private static long[] positions(SplittableRandom rnd, long start, int n, boolean gaps) {
    long[] pos = new long[n];
    long p = start;
    for (int i = 0; i < n; i++) {
      pos[i] = p;
      p += gaps && rnd.nextInt(10) == 0 ? 2 + rnd.nextInt(5) : 1;
    }
    return pos;
  }

  /** Runs every segment as the kernel would: rows gathered from the plan's device layout. */
  private static List<Partial> emulate(LaunchPlan plan, List<QueryBlock> queries, AttentionSpec spec) {
    int d = plan.dim();
    float[] q = gather(plan.queryCopies(), plan.queryRows(), d);
    float[] k = gather(plan.keyCopies(), plan.keyRows(), d);
    float[] v = gather(plan.valueCopies(), plan.keyRows(), d);
    float[] o = new float[(int) plan.queryRows() * d];
    float[] m = new float[(int) plan.queryRows()];
    float[] l = new float[(int) plan.queryRows()];
    Arrays.fill(o, Float.NaN); // poison: every row a segment covers must be written
    Arrays.fill(m, Float.NaN);
    Arrays.fill(l, Float.NaN);
    long[] table = plan.segmentTable();
    int[] limits = plan.keyLimitTable();
    int[] tiles = plan.tiles();
    boolean[] tileSeen = new boolean[(int) plan.queryRows()];
    for (int t = 0; t < plan.numTiles(); t++) {
      int s = tiles[2 * t];
      int first = tiles[2 * t + 1];
      for (int r = first; r < Math.min(first + 64, (int) table[6 * s + 1]); r++) {
        tileSeen[(int) table[6 * s] + r] = true;
      }
    }
    for (int s = 0; s < table.length / 6; s++) {
      int qRow0 = (int) table[6 * s];
      int qLen = (int) table[6 * s + 1];
      int kRow0 = (int) table[6 * s + 2];
      int kLen = (int) table[6 * s + 3];
      long[] qPos = new long[qLen];
      long[] kPos = new long[kLen];
      // the kernel's causal contract: row i sees the segment's keys 0..limits[row]
      for (int i = 0; i < qLen; i++) {
        qPos[i] = limits[qRow0 + i];
        assertTrue(tileSeen[qRow0 + i], "row " + (qRow0 + i) + " of segment " + s + " is in no tile");
      }
      for (int j = 0; j < kLen; j++) {
        kPos[j] = j;
      }
      QueryBlock sq = new QueryBlock(qLen, d, Arrays.copyOfRange(q, qRow0 * d, (qRow0 + qLen) * d), qPos);
      KeyValueBlock skv = new KeyValueBlock(kLen, d, Arrays.copyOfRange(k, kRow0 * d, (kRow0 + kLen) * d),
          Arrays.copyOfRange(v, kRow0 * d, (kRow0 + kLen) * d), kPos);
      Partial p = TiledAttention.forward(sq, List.of(skv), spec);
      System.arraycopy(p.o(), 0, o, qRow0 * d, qLen * d);
      System.arraycopy(p.m(), 0, m, qRow0, qLen);
      System.arraycopy(p.l(), 0, l, qRow0, qLen);
    }
    List<Partial> whole = plan.assemble(queries, o, m, l);
    // the backend brings rows back in pieces cut anywhere (segments too): the same partials, bit for bit
    SplittableRandom cuts = new SplittableRandom(plan.queryRows());
    List<Partial> pieces = plan.emptyPartials(queries);
    for (int a = 0, b; a < plan.queryRows(); a = b) {
      b = (int) Math.min(plan.queryRows(), a + 1 + cuts.nextInt(40));
      plan.assembleRows(pieces, a, b, FloatBuffer.wrap(o, a * d, (b - a) * d).slice(),
          FloatBuffer.wrap(m, a, b - a).slice(), FloatBuffer.wrap(l, a, b - a).slice());
    }
    for (int i = 0; i < queries.size(); i++) {
      assertArrayEquals(whole.get(i).o(), pieces.get(i).o(), plan.toString());
      assertArrayEquals(whole.get(i).m(), pieces.get(i).m(), plan.toString());
      assertArrayEquals(whole.get(i).l(), pieces.get(i).l(), plan.toString());
    }
    // as StagedLaunch does: a chunk's partials opened when its rows come back, handed on and dropped after
    List<long[]> chunks = plan.chunks(1 + cuts.nextInt(6), 1 + cuts.nextInt(4));
    List<Partial> open = new ArrayList<>(java.util.Collections.nCopies(queries.size(), (Partial) null));
    Partial[] delivered = new Partial[queries.size()];
    for (long[] chunk : chunks) {
      plan.openChunk(chunk, queries, open);
      for (long a = chunk[2], b; a < chunk[3]; a = b) {
        b = Math.min(chunk[3], a + 1 + cuts.nextInt(40));
        int ia = (int) a;
        int n = (int) (b - a);
        plan.assembleRows(open, a, b, FloatBuffer.wrap(o, ia * d, n * d).slice(), FloatBuffer.wrap(m, ia, n).slice(),
            FloatBuffer.wrap(l, ia, n).slice());
      }
      for (int i = (int) chunk[0]; i < (int) chunk[1]; i++) {
        assertNull(delivered[i], "query block " + i + " handed on twice: " + plan);
        delivered[i] = open.set(i, null);
      }
    }
    for (int i = 0; i < queries.size(); i++) {
      assertArrayEquals(whole.get(i).o(), delivered[i].o(), "chunked: " + plan);
      assertArrayEquals(whole.get(i).m(), delivered[i].m(), "chunked: " + plan);
      assertArrayEquals(whole.get(i).l(), delivered[i].l(), "chunked: " + plan);
    }
    return whole;
  }

  private static float[] gather(List<LaunchPlan.Copy> copies, long rows, int d) {
    float[] out = new float[(int) rows * d];
    for (LaunchPlan.Copy c : copies) {
      System.arraycopy(c.source().get(), c.sourceRow() * d, out, (int) c.deviceRow() * d, c.rows() * d);
    }
    return out;
  }

  @Test
  void planComputesExactlyWhatTheBackendMustReturn() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("LaunchPlanTest");
    for (int trial = 0; trial < 80; trial++) {
      int d = 1 + rnd.nextInt(40);
      boolean causal = rnd.nextBoolean();
      boolean gaps = rnd.nextInt(3) == 0;
      List<KeyValueBlock> blocks = new ArrayList<>();
      long pos = rnd.nextInt(50);
      for (int b = 0; b < 1 + rnd.nextInt(4); b++) {
        int n = rnd.nextInt(150);
        long[] p = positions(rnd, pos, n, gaps);
        pos = n == 0 ? pos : p[n - 1] + 1 + (gaps ? rnd.nextInt(3) : 0);
        blocks.add(new KeyValueBlock(n, d, gaussian(rnd, n * d), gaussian(rnd, n * d), p));
      }
      List<QueryBlock> queries = new ArrayList<>();
      List<List<KeyValueBlock>> kvs = new ArrayList<>();
      // which key blocks each query block sees: any subset; or, as in a causal cell, the previous
      // query block's blocks and maybe more (the plan continues the previous segments then)
      boolean growing = rnd.nextBoolean();
      for (int i = 0; i < 1 + rnd.nextInt(4); i++) {
        int n = 1 + rnd.nextInt(150);
        queries.add(new QueryBlock(n, d, gaussian(rnd, n * d), positions(rnd, rnd.nextInt((int) pos + 1), n, gaps)));
        List<KeyValueBlock> visible = new ArrayList<>(growing && i > 0 ? kvs.get(i - 1) : List.of());
        for (KeyValueBlock b : blocks) {
          if (!visible.contains(b) && rnd.nextInt(growing ? 3 : 4) > 0) {
            visible.add(b);
          }
        }
        kvs.add(visible);
      }
      AttentionSpec spec = AttentionSpec.defaults().withCausal(causal);
      LaunchPlan plan = LaunchPlan.build(queries, kvs, causal, 64);
      List<Partial> got = emulate(plan, queries, spec);
      for (int i = 0; i < queries.size(); i++) {
        ReferenceAttention.Result ref = ReferenceAttention.forward(queries.get(i), kvs.get(i), spec);
        Partial p = got.get(i);
        for (int r = 0; r < p.rows(); r++) {
          double lse = p.lse(r);
          assertEquals(ref.lse()[r], lse, Double.isInfinite(lse) ? 0 : 1e-5, "trial " + trial + " " + plan);
          float[] row = p.outputRow(r);
          for (int c = 0; c < d; c++) {
            assertEquals(ref.o(r, c), row[c], 1e-5, "trial " + trial + " " + plan);
          }
        }
      }
    }
  }

  @Test
  void aCausalChunkNeedsOnlyTheKeysItSees() {
    int d = 4;
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("LaunchPlanTest");
    List<QueryBlock> queries = new ArrayList<>();
    List<KeyValueBlock> keys = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      keys.add(new KeyValueBlock(100, d, gaussian(rnd, 400), gaussian(rnd, 400), positions(rnd, 100 * i, 100, false)));
      queries.add(new QueryBlock(100, d, gaussian(rnd, 400), positions(rnd, 100 * i, 100, false)));
      kvs.add(List.copyOf(keys));
    }
    LaunchPlan causal = LaunchPlan.build(queries, kvs, true, 64);
    assertArrayEquals(new long[] {1600, 3200, 4800, 6400}, causal.keyRowsNeeded(causal.chunks(4, 1), 256));
    List<List<KeyValueBlock>> all = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      all.add(keys);
    }
    LaunchPlan full = LaunchPlan.build(queries, all, false, 64);
    assertArrayEquals(new long[] {6400, 6400, 6400, 6400}, full.keyRowsNeeded(full.chunks(4, 1), 256));
  }

  @Test
  void everyKeyTileAChunkLoadsIsUpBeforeIt() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("LaunchPlanTest");
    for (int trial = 0; trial < 40; trial++) {
      int d = 4;
      boolean causal = trial % 4 != 3;
      int tileRows = 1 << (3 + rnd.nextInt(5));
      List<QueryBlock> queries = new ArrayList<>();
      List<List<KeyValueBlock>> kvs = new ArrayList<>();
      List<KeyValueBlock> keys = new ArrayList<>();
      long pos = 0;
      for (int i = 0; i < 2 + rnd.nextInt(12); i++) {
        int n = 1 + rnd.nextInt(200);
        boolean sparse = rnd.nextBoolean();
        long[] p = positions(rnd, pos, n, sparse);
        pos = p[n - 1] + 1 + rnd.nextInt(3);
        keys.add(new KeyValueBlock(n, d, gaussian(rnd, n * d), gaussian(rnd, n * d), p));
        int m = 1 + rnd.nextInt(200);
        queries.add(new QueryBlock(m, d, gaussian(rnd, m * d), positions(rnd, p[0], m, sparse)));
        kvs.add(List.copyOf(keys));
      }
      LaunchPlan plan = LaunchPlan.build(queries, kvs, causal, 64);
      List<long[]> chunks = plan.chunks(4, 1 + trial % 4);
      long[] need = plan.keyRowsNeeded(chunks, tileRows);
      int[] starts = new int[chunks.size() + 1];
      int[] tiles = plan.tilesByChunk(chunks, starts);
      int[] limit = plan.keyLimitTable();
      for (int c = 0; c < chunks.size(); c++) {
        assertTrue(c == 0 || need[c] >= need[c - 1], "keys go up in order");
        assertTrue(need[c] <= plan.keyRows());
        for (int t = starts[c]; t < starts[c + 1]; t++) {
          LaunchPlan.Segment g = plan.segments().get(tiles[2 * t]);
          int firstRow = tiles[2 * t + 1];
          long lastRow = g.qRow0() + Math.min(g.qLen(), firstRow + 64) - 1;
          long visible = causal ? limit[Math.toIntExact(lastRow)] + 1L : g.kLen();
          long loaded = g.kRow0() + Math.min(g.kLen(), (visible + tileRows - 1) / tileRows * tileRows);
          assertTrue(loaded <= need[c], "trial " + trial + " chunk " + c + ": a tile loads key rows to " + loaded
              + " but " + need[c] + " are up");
        }
      }
    }
  }

  @Test
  void theLastChunkIsCutIntoSmallerPieces() {
    int d = 4;
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("LaunchPlanTest");
    List<QueryBlock> queries = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    KeyValueBlock kv = new KeyValueBlock(100, d, gaussian(rnd, 400), gaussian(rnd, 400), positions(rnd, 0, 100, false));
    for (int i = 0; i < 64; i++) {
      queries.add(new QueryBlock(100, d, gaussian(rnd, 400), positions(rnd, 100 * i, 100, false)));
      kvs.add(List.of(kv));
    }
    LaunchPlan plan = LaunchPlan.build(queries, kvs, false, 64);
    assertEquals(4, plan.chunks(4, 1).size(), "equal chunks of 1,600 rows");
    List<long[]> chunks = plan.chunks(4, 4);
    long[] rows = chunks.stream().mapToLong(c -> c[3] - c[2]).toArray();
    assertArrayEquals(new long[] {1600, 1600, 1600, 400, 400, 400, 400}, rows, java.util.Arrays.toString(rows));
    assertEquals(6400, chunks.get(chunks.size() - 1)[3]);
  }

  @Test
  void chunksCoverEveryRowAndTileOnce() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("LaunchPlanTest");
    for (int trial = 0; trial < 30; trial++) {
      int d = 4;
      boolean causal = rnd.nextBoolean();
      List<QueryBlock> queries = new ArrayList<>();
      List<List<KeyValueBlock>> kvs = new ArrayList<>();
      KeyValueBlock kv = new KeyValueBlock(300, d, gaussian(rnd, 1200), gaussian(rnd, 1200),
          positions(rnd, 0, 300, rnd.nextInt(4) == 0));
      for (int i = 0; i < 1 + rnd.nextInt(9); i++) {
        int n = 1 + rnd.nextInt(300);
        queries.add(new QueryBlock(n, d, gaussian(rnd, n * d), positions(rnd, rnd.nextInt(300), n, false)));
        kvs.add(List.of(kv));
      }
      LaunchPlan plan = LaunchPlan.build(queries, kvs, causal, 64);
      int tailPieces = 1 + trial % 4;
      List<long[]> chunks = plan.chunks(4, tailPieces);
      assertTrue(tailPieces > 1 || chunks.size() <= 4);
      long row = 0;
      int query = 0;
      for (long[] c : chunks) {
        assertEquals(query, c[0], "chunks are consecutive in queries");
        assertEquals(row, c[2], "chunks are consecutive in rows");
        query = (int) c[1];
        row = c[3];
      }
      assertEquals(queries.size(), query);
      assertEquals(plan.queryRows(), row);
      int[] starts = new int[chunks.size() + 1];
      int[] tiles = plan.tilesByChunk(chunks, starts);
      assertEquals(plan.numTiles(), starts[chunks.size()], "every tile in exactly one chunk");
      for (int c = 0; c < chunks.size(); c++) {
        for (int t = starts[c]; t < starts[c + 1]; t++) {
          LaunchPlan.Segment g = plan.segments().get(tiles[2 * t]);
          assertTrue(g.query() >= chunks.get(c)[0] && g.query() < chunks.get(c)[1]);
          assertTrue(g.qRow0() >= chunks.get(c)[2] && g.qRow0() + g.qLen() <= chunks.get(c)[3]);
        }
      }
    }
  }

  @Test
  void contiguousBlocksMakeOneSegmentPerQueryAndCausalTilesHeaviestFirst() {
    SplittableRandom rnd = new SplittableRandom(5);
    int d = 8;
    KeyValueBlock a = new KeyValueBlock(100, d, gaussian(rnd, 800), gaussian(rnd, 800), positions(rnd, 0, 100, false));
    KeyValueBlock b = new KeyValueBlock(100, d, gaussian(rnd, 800), gaussian(rnd, 800), positions(rnd, 100, 100, false));
    QueryBlock q = new QueryBlock(200, d, gaussian(rnd, 1600), positions(rnd, 0, 200, false));
    LaunchPlan plan = LaunchPlan.build(List.of(q), List.of(List.of(a, b)), true, 64);
    assertEquals(1, plan.segments().size(), plan.toString());
    assertEquals(200, plan.queryRows());
    int[] tiles = plan.tiles();
    assertEquals(4, plan.numTiles());
    assertEquals(192, tiles[1], "the last query tile sees the most keys and goes first");
    assertEquals(0, tiles[7]);
  }

  @Test
  void aCausalCellsGrowingKeyPrefixesGiveOneSegmentPerQueryBlock() {
    SplittableRandom rnd = new SplittableRandom(6);
    int d = 4;
    int n = 50;
    List<KeyValueBlock> blocks = new ArrayList<>();
    List<QueryBlock> queries = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    for (int b = 0; b < n; b++) {
      long[] p = positions(rnd, 64L * b, 64, false);
      blocks.add(new KeyValueBlock(64, d, gaussian(rnd, 64 * d), gaussian(rnd, 64 * d), p));
      queries.add(new QueryBlock(64, d, gaussian(rnd, 64 * d), p));
      kvs.add(new ArrayList<>(blocks)); // as CellTask builds them: a new list, the same blocks
    }
    LaunchPlan plan = LaunchPlan.build(queries, kvs, true, 64);
    assertEquals(n, plan.segments().size(), plan.toString());
    for (int b = 0; b < n; b++) {
      LaunchPlan.Segment s = plan.segments().get(b);
      assertEquals(0, s.kRow0(), "segment " + b);
      assertEquals(64 * (b + 1), s.kLen(), "segment " + b);
      assertEquals(b, s.query());
    }
  }

  @Test
  void sparsePositionsDoNotMultiplySegments() {
    SplittableRandom rnd = new SplittableRandom(7);
    int d = 8;
    long[] kPos = new long[500];
    long[] qPos = new long[500];
    for (int i = 0; i < 500; i++) {
      kPos[i] = 10L * i + rnd.nextInt(5); // every row a gap: 500 runs of one position each
      qPos[i] = 10L * i + 3;
    }
    KeyValueBlock kv = new KeyValueBlock(500, d, gaussian(rnd, 4000), gaussian(rnd, 4000), kPos);
    QueryBlock q = new QueryBlock(500, d, gaussian(rnd, 4000), qPos);
    LaunchPlan plan = LaunchPlan.build(List.of(q), List.of(List.of(kv)), true, 64);
    assertEquals(1, plan.segments().size(), plan.toString());
    assertEquals(500, plan.queryRows(), "no query row copied");
    int[] limits = plan.keyLimitTable();
    for (int i = 0; i < 500; i++) {
      int expected = -1;
      while (expected + 1 < 500 && kPos[expected + 1] <= qPos[i]) {
        expected++;
      }
      assertEquals(expected, limits[i], "row " + i);
    }
  }

  /** A late query block over many earlier KV blocks: its limits start mid-segment (found by bisection). */
  @Test
  void causalLimitsOfALateQueryBlockOverManyKeyBlocks() {
    SplittableRandom rnd = new SplittableRandom(11);
    int d = 4;
    List<KeyValueBlock> kvs = new java.util.ArrayList<>();
    List<Long> allKeys = new java.util.ArrayList<>();
    long p = 0;
    for (int b = 0; b < 12; b++) {
      long[] pos = new long[50];
      for (int i = 0; i < 50; i++) {
        p += 1 + rnd.nextInt(3);
        pos[i] = p;
        allKeys.add(p);
      }
      kvs.add(new KeyValueBlock(50, d, gaussian(rnd, 50 * d), gaussian(rnd, 50 * d), pos));
    }
    long[] qPos = new long[40];
    for (int i = 0; i < 40; i++) {
      qPos[i] = allKeys.get(400) + 2L * i; // inside the ninth key block and beyond
    }
    QueryBlock q = new QueryBlock(40, d, gaussian(rnd, 40 * d), qPos);
    LaunchPlan plan = LaunchPlan.build(List.of(q), List.of(kvs), true, 64);
    assertEquals(1, plan.segments().size(), "sorted, contiguous key rows make one segment: " + plan);
    int[] limits = plan.keyLimitTable();
    for (int i = 0; i < 40; i++) {
      int expected = -1;
      while (expected + 1 < allKeys.size() && allKeys.get(expected + 1) <= qPos[i]) {
        expected++;
      }
      assertEquals(expected, limits[i], "row " + i);
    }
    assertEquals(0, LaunchPlan.countAtMost(new long[] {5, 6, 7}, 0, 3, 4));
    assertEquals(2, LaunchPlan.countAtMost(new long[] {5, 6, 7}, 0, 3, 6));
    assertEquals(1, LaunchPlan.countAtMost(new long[] {1, 5, 6, 7}, 1, 3, 5));
    assertEquals(3, LaunchPlan.countAtMost(new long[] {5, 6, 7}, 0, 3, 70));
  }

  @Test
  void persistentGridIsTheResidentCtasOrFewerTiles() {
    assertEquals(132, LaunchPlan.persistentGrid(10_000, 132, 1));
    assertEquals(264, LaunchPlan.persistentGrid(10_000, 132, 2));
    assertEquals(7, LaunchPlan.persistentGrid(7, 132, 1));
    assertEquals(132, LaunchPlan.persistentGrid(132, 132, 1));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> LaunchPlan.persistentGrid(0, 132, 1));
  }

  /**
   * The warm-up's synthetic plan is a causal cell's: one segment per query block over all keys up
   * to it (adjacent key blocks joined), each row's last visible key its own position, tiles of
   * 128 rows heaviest first; and the warm-up runs once per JVM.
   */
  @Test
  void theWarmUpPlansACausalCell() {
    LaunchPlan plan = LaunchPlan.denseCausal(8, 2048);
    assertEquals(8 * 2048, plan.queryRows());
    assertEquals(8 * 2048, plan.keyRows());
    assertEquals(8, plan.segments().size());
    for (int b = 0; b < 8; b++) {
      LaunchPlan.Segment g = plan.segments().get(b);
      assertEquals(0, g.kRow0());
      assertEquals((b + 1) * 2048, g.kLen());
    }
    int[] limits = plan.keyLimitTable();
    for (int row = 0; row < limits.length; row++) {
      assertEquals(row, limits[row], "row " + row);
    }
    assertEquals(8 * 2048 / 128, plan.numTiles());
    int[] tiles = plan.tiles();
    assertEquals(7, tiles[0], "the heaviest tile first: the last block's");
    long first = LaunchPlan.warmUp(2, 1);
    assertEquals(-1, LaunchPlan.warmUp(2, 1), "a second warm-up (the first took " + first + " ms)");
  }
}
