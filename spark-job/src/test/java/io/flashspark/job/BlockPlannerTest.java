package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockPlannerTest {
  private static DocSummary summary(String doc, long rows, int dim, long firstBlock, long lastBlock) {
    return new DocSummary(new DocHead(doc, 0), rows, dim, firstBlock, lastBlock);
  }

  /** Every (Q block, KV block) pair that must be computed lands in exactly one cell. */
  @Test
  void everyNeededPairIsInExactlyOneCell() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("BlockPlannerTest");
    for (int trial = 0; trial < 200; trial++) {
      long qFirst = rnd.nextInt(5);
      long qLast = qFirst + rnd.nextInt(40);
      long kFirst = rnd.nextInt(5);
      long kLast = kFirst + rnd.nextInt(40);
      boolean causal = rnd.nextBoolean();
      DocHead dh = new DocHead("d", 0);
      DocSummary q = summary("d", (qLast - qFirst + 1) * 10, 8, qFirst, qLast);
      DocSummary kv = summary("d", (kLast - kFirst + 1) * 10, 8, kFirst, kLast);
      BlockPlanner.Plan plan = new BlockPlanner(1 + rnd.nextInt(64), 1L << 30, 1L << 40).plan(Map.of(dh, q), Map.of(dh, kv), causal);
      BlockPlanner.ShardPlan sp = plan.shards().get(dh);
      Map<Long, Integer> covered = new HashMap<>();
      for (long i = qFirst; i <= qLast; i++) {
        for (int s = 0; s < sp.kvShards(); s++) {
          if (!sp.qBlockNeeds(i, s)) {
            continue;
          }
          assertTrue(sp.cellNeeded(sp.qShardOf(i), s), "a needed Q block's cell must receive KV blocks");
          for (long j = kFirst; j <= kLast; j++) {
            if (sp.kvShardOf(j) == s) {
              covered.merge(i * 1000 + j, 1, Integer::sum);
            }
          }
        }
      }
      for (long i = qFirst; i <= qLast; i++) {
        for (long j = kFirst; j <= kLast; j++) {
          int expected = !causal || j <= i ? 1 : 0;
          int got = covered.getOrDefault(i * 1000 + j, 0);
          if (expected == 1) {
            assertEquals(1, got, "pair (" + i + ", " + j + ") causal=" + causal + " plan " + sp);
          } else {
            assertTrue(got <= 1, "pair computed twice");
          }
        }
      }
    }
  }

  /**
   * The rows a cell's task readies its device for: per cell, the query rows of every Q block with a
   * key in the cell's KV shard it may see, and every key row of that shard; per task partition, the
   * cell that needs the most device rows.
   */
  @Test
  void cellRowsCountWhatEachCellReceives() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("BlockPlannerTest.cellRows");
    for (int trial = 0; trial < 100; trial++) {
      boolean causal = rnd.nextBoolean();
      Map<DocHead, DocSummary> summaries = new java.util.TreeMap<>();
      Map<BlockKey, BlockStats.Block> blocks = new java.util.TreeMap<>(java.util.Comparator
          .comparing(BlockKey::docHead).thenComparingLong(BlockKey::index));
      for (int d = 0; d < 1 + rnd.nextInt(3); d++) {
        DocHead dh = new DocHead("d" + d, 0);
        long first = rnd.nextInt(3);
        long last = first + rnd.nextInt(30);
        long rows = 0;
        for (long b = first; b <= last; b++) {
          long n = 1 + rnd.nextInt(100);
          rows += n;
          blocks.put(new BlockKey(dh, b), new BlockStats.Block(n, 1, 8 + 40 * n, 8 + 72 * n, 32 * n, 64 * n));
        }
        summaries.put(dh, new DocSummary(dh, rows, 8, first, last));
      }
      BlockPlanner.Plan plan = new BlockPlanner(1 + rnd.nextInt(16), 1L << 30, 1L << 40).plan(summaries, summaries,
          causal);
      Map<Long, long[]> rows = CellRouter.cellRows(plan.shards(), blocks, blocks);
      Map<Long, long[]> expected = new HashMap<>();
      for (Map.Entry<DocHead, BlockPlanner.ShardPlan> e : plan.shards().entrySet()) {
        BlockPlanner.ShardPlan sp = e.getValue();
        DocSummary doc = summaries.get(e.getKey());
        for (int r = 0; r < sp.qShards(); r++) {
          for (int s = 0; s < sp.kvShards(); s++) {
            long q = 0;
            long kv = 0;
            boolean any = false;
            for (long i = doc.minBlock(); i <= doc.maxBlock(); i++) {
              boolean sees = false;
              for (long j = doc.minBlock(); j <= doc.maxBlock(); j++) {
                sees |= sp.kvShardOf(j) == s && (!causal || j <= i);
              }
              if (sp.qShardOf(i) == r && sees) {
                q += blocks.get(new BlockKey(e.getKey(), i)).rows();
                any = true;
              }
            }
            for (long j = doc.minBlock(); j <= doc.maxBlock(); j++) {
              if (sp.kvShardOf(j) == s) {
                kv += blocks.get(new BlockKey(e.getKey(), j)).rows();
              }
            }
            // the router also sends keys to a cell the plan keeps for a Q shard whose late chunk
            // lies past the document's last block, though no query there sees them
            if (any || sp.cellNeeded(r, s)) {
              expected.put(sp.cell(e.getKey(), r, s).id(), new long[] {q, kv});
            }
          }
        }
      }
      assertEquals(expected.keySet(), rows.keySet(), "cells " + plan.description());
      for (Map.Entry<Long, long[]> e : expected.entrySet()) {
        assertEquals(List.of(e.getValue()[0], e.getValue()[1]), List.of(rows.get(e.getKey())[0],
            rows.get(e.getKey())[1]), "cell " + e.getKey() + " of " + plan.description());
      }
      long[][] largest = CellTask.largestCells(plan, rows);
      assertEquals(plan.partitions(), largest.length);
      for (Map.Entry<Long, long[]> e : rows.entrySet()) {
        long[] top = largest[plan.partitionOf(e.getKey())];
        if (e.getValue()[0] == 0) {
          continue; // nothing to compute: nothing to ready
        }
        assertTrue(top[0] + 2 * top[1] >= e.getValue()[0] + 2 * e.getValue()[1], "the partition's largest cell");
      }
    }
  }

  @Test
  void manySmallProblemsShareTasksWithinTheTaskMemory() {
    Map<DocHead, DocSummary> s = new java.util.TreeMap<>();
    for (int d = 0; d < 500; d++) {
      String doc = String.format("doc-%04d", d);
      s.put(new DocHead(doc, 0), summary(doc, 1024 + 7 * (d % 13), 64, 0, 0));
    }
    for (long taskBytes : new long[] {1L << 40, 64L << 20}) {
      BlockPlanner.Plan plan = new BlockPlanner(8, 1L << 30, taskBytes).plan(s, s, true);
      assertEquals(500, plan.cells(), plan.description());
      long[] starts = plan.partitionStarts();
      assertEquals(0, starts[0]);
      for (int i = 1; i < starts.length; i++) {
        assertTrue(starts[i] > starts[i - 1], "ascending");
      }
      long[] bytes = new long[starts.length];
      double[] work = new double[starts.length];
      for (Map.Entry<DocHead, BlockPlanner.ShardPlan> e : plan.shards().entrySet()) {
        long cell = e.getValue().cell(e.getKey(), 0, 0).id();
        int p = plan.partitionOf(cell);
        DocSummary d = s.get(e.getKey());
        bytes[p] += d.rows() * (BlockPlanner.CellMemory.WIDENED_FP32.queryRowBytes(64)
            + BlockPlanner.CellMemory.WIDENED_FP32.keyRowBytes(64));
        work[p] += BlockPlanner.work(d, d, true);
      }
      double total = java.util.Arrays.stream(work).sum();
      double largestCell = BlockPlanner.work(s.get(new DocHead("doc-0012", 0)), s.get(new DocHead("doc-0012", 0)), true);
      for (int p = 0; p < starts.length; p++) {
        assertTrue(bytes[p] <= taskBytes, "task " + p + " holds " + bytes[p]);
        assertTrue(work[p] <= total / 8 + largestCell, "task " + p + " work " + work[p] / total);
      }
      if (taskBytes == 1L << 40) {
        assertEquals(8, starts.length, "the work of 8 cells in 8 tasks: " + plan.description());
      } else {
        assertTrue(starts.length > 8, "memory splits further: " + starts.length);
      }
      assertTrue(plan.description().contains("in " + starts.length + " tasks"), plan.description());
    }
    // a few large problems: one cell per task, as before
    BlockPlanner.Plan single = new BlockPlanner(8, 1L << 30, 1L << 40).plan(
        Map.of(new DocHead("big", 0), summary("big", 1 << 20, 64, 0, 511)),
        Map.of(new DocHead("big", 0), summary("big", 1 << 20, 64, 0, 511)), true);
    assertEquals(null, single.partitionStarts());
    assertEquals(single.cells(), single.partitions());
    // one GPU (4 cells) on 16 slots: 8 heads keep a task each (their work around the kernels on 8
    // cores, not 4); with 4 slots they pair up
    Map<DocHead, DocSummary> heads = new java.util.TreeMap<>();
    for (int h = 0; h < 8; h++) {
      heads.put(new DocHead("doc", h), summary("doc", 1 << 20, 128, 0, 511));
    }
    BlockPlanner.Plan spread = new BlockPlanner(4, 16, 1L << 40, 1L << 40, BlockPlanner.CellMemory.WIDENED_FP32)
        .plan(heads, heads, true);
    assertEquals(8, spread.neededCells());
    assertEquals(8, spread.partitions(), spread.description());
    BlockPlanner.Plan paired = new BlockPlanner(4, 4, 1L << 40, 1L << 40, BlockPlanner.CellMemory.WIDENED_FP32)
        .plan(heads, heads, true);
    assertEquals(4, paired.partitions(), paired.description());
  }

  @Test
  void sharesCellsByWorkAndCapsKvShards() {
    DocHead big = new DocHead("big", 0);
    DocHead small = new DocHead("small", 0);
    Map<DocHead, DocSummary> s = Map.of(big, summary("big", 64 * 1024, 128, 0, 63),
        small, summary("small", 1024, 128, 0, 0));
    BlockPlanner.Plan plan = new BlockPlanner(16, 1L << 30, 1L << 40).plan(s, s, false);
    assertTrue(plan.shards().get(big).cellCount() >= 12, plan.description());
    assertEquals(1, plan.shards().get(small).cellCount());
    // 64k keys of d=128: 64 MiB of fp32 k+v; a 8 MiB cap needs at least 8 KV shards
    BlockPlanner.Plan capped = new BlockPlanner(1, 8L << 20, 1L << 40).plan(s, s, false);
    assertTrue(capped.shards().get(big).kvShards() >= 8, capped.description());
    assertTrue(capped.description().contains("and 1 problems (KV)"), capped.description());
  }

  /**
   * A cell fits the task budget (within the rounding of shards to whole blocks, 10%): Q and KV are
   * both split, whatever the document length, and a bigger budget means fewer cells.
   */
  @Test
  void cellsFitTheTaskMemoryBudget() {
    int blockSize = 2048;
    for (long tokens : new long[] {1L << 20, 3_000_000L, 1L << 24}) {
      for (int dim : new int[] {64, 128}) {
        for (boolean causal : new boolean[] {false, true}) {
          DocHead dh = new DocHead("long", 0);
          long blocks = (tokens + blockSize - 1) / blockSize;
          Map<DocHead, DocSummary> s = Map.of(dh, summary("long", tokens, dim, 0, blocks - 1));
          long budget = 349L << 20; // what a 2 GB heap with 2 task slots gets
          BlockPlanner.Plan plan = new BlockPlanner(2, 1L << 30, budget).plan(s, s, causal);
          BlockPlanner.ShardPlan sp = plan.shards().get(dh);
          long qBlocksPerShard = (sp.zigzag() ? 2 : 1) * sp.qChunk();
          long cellBytes = qBlocksPerShard * blockSize * BlockPlanner.queryRowBytes(dim)
              + sp.kvBlocksPerShard() * blockSize * BlockPlanner.keyRowBytes(dim);
          assertTrue(cellBytes <= budget * 1.1, tokens + " tokens d" + dim + ": cell of " + (cellBytes >> 20)
              + " MiB for a budget of " + (budget >> 20) + " MiB: " + plan.description());
          assertTrue(sp.qShards() > 1 && sp.kvShards() > 1, plan.description());
          BlockPlanner.Plan roomy = new BlockPlanner(2, 1L << 30, budget * 8).plan(s, s, causal);
          assertTrue(roomy.cells() < plan.cells(), roomy.description());
        }
      }
    }
  }

  /** Causal work of each Q shard: for each of its Q blocks, the KV blocks at or before it. */
  private static long[] causalWorkPerQShard(BlockPlanner.ShardPlan sp, long blocks) {
    long[] work = new long[sp.qShards()];
    for (long i = 0; i < blocks; i++) {
      work[sp.qShardOf(i)] += i + 1;
    }
    return work;
  }

  @Test
  void zigzagBalancesCausalWorkOverQShards() {
    DocHead dh = new DocHead("d", 0);
    Map<DocHead, DocSummary> s = Map.of(dh, summary("d", 64 * 100, 16, 0, 63));
    BlockPlanner.ShardPlan causal = new BlockPlanner(8, 1L << 30, 1L << 40).plan(s, s, true).shards().get(dh);
    BlockPlanner.ShardPlan plain = new BlockPlanner(8, 1L << 30, 1L << 40).plan(s, s, false).shards().get(dh);
    assertTrue(causal.zigzag() && !plain.zigzag());
    assertTrue(causal.qShards() >= 2, causal.toString());
    long[] work = causalWorkPerQShard(causal, 64);
    long max = java.util.Arrays.stream(work).max().getAsLong();
    long min = java.util.Arrays.stream(work).min().getAsLong();
    assertTrue(max <= 1.2 * min, "zigzag shards' causal work " + java.util.Arrays.toString(work));
    // the same shards cut contiguously would differ by several times
    long[] contiguous = new long[causal.qShards()];
    for (long i = 0; i < 64; i++) {
      contiguous[(int) (i * causal.qShards() / 64)] += i + 1;
    }
    assertTrue(contiguous[contiguous.length - 1] > 2 * contiguous[0], java.util.Arrays.toString(contiguous));
  }

  @Test
  void causalSkipsCellsAboveTheDiagonal() {
    // shards of one or two blocks cannot zigzag: contiguous shards leave cells above the diagonal
    DocHead dh = new DocHead("d", 0);
    Map<DocHead, DocSummary> s = Map.of(dh, summary("d", 8 * 100, 16, 0, 7));
    BlockPlanner.Plan plan = new BlockPlanner(64, 1L << 30, 1L << 40).plan(s, s, true);
    BlockPlanner.ShardPlan sp = plan.shards().get(dh);
    assertTrue(!sp.kvZigzag() && sp.kvShards() > 1, sp.toString());
    assertTrue(plan.neededCells() < plan.cells(), plan.description());
    assertTrue(plan.neededCells() >= plan.cells() / 2, plan.description());
  }

  /** Causal pairs per cell (block granularity, a diagonal block counted whole), needed cells only. */
  private static List<Long> causalWorkPerCell(BlockPlanner.ShardPlan sp, long blocks) {
    long[][] work = new long[sp.qShards()][sp.kvShards()];
    for (long i = 0; i < blocks; i++) {
      for (long j = 0; j <= i; j++) {
        work[sp.qShardOf(i)][sp.kvShardOf(j)]++;
      }
    }
    List<Long> needed = new java.util.ArrayList<>();
    for (int a = 0; a < sp.qShards(); a++) {
      for (int b = 0; b < sp.kvShards(); b++) {
        if (sp.cellNeeded(a, b)) {
          needed.add(work[a][b]);
        }
      }
    }
    return needed;
  }

  /**
   * KV split too (e.g. by task memory): zigzag KV shards pair an early chunk with a late one, so
   * every cell, not only every Q shard, gets the same causal work; contiguous KV shards would give
   * the first KV shard's cells up to twice the mean.
   */
  @Test
  void zigzagOnBothSidesBalancesCausalWorkPerCell() {
    DocHead dh = new DocHead("d", 0);
    long blocks = 240;
    long rowBytes = BlockPlanner.keyRowBytes(16);
    Map<DocHead, DocSummary> s = Map.of(dh, summary("d", blocks * 100, 16, 0, blocks - 1));
    for (int kvShards : new int[] {2, 3, 4}) {
      for (int cells : new int[] {1, 4, 8, 12}) {
        long taskBytes = 2 * (blocks * 100 * rowBytes / kvShards + 1);
        BlockPlanner.ShardPlan sp = new BlockPlanner(cells, 1L << 40, taskBytes).plan(s, s, true).shards().get(dh);
        assertTrue(sp.kvShards() >= kvShards, sp.toString());
        assertTrue(sp.kvZigzag(), sp.toString());
        List<Long> work = causalWorkPerCell(sp, blocks);
        double mean = work.stream().mapToLong(Long::longValue).average().orElseThrow();
        long max = work.stream().mapToLong(Long::longValue).max().orElseThrow();
        assertTrue(max <= 1.1 * mean, "cells' causal work " + work + " for " + sp);
      }
    }
  }

  @Test
  void theCheapestSplitCountsThePartialsItMakesMerge() {
    // N = M, d 128, 4 cells: splitting KV ships each Q row twice and merges a partial per Q row;
    // Q-stationary ships each key row four times and merges nothing, which is cheaper here
    assertEquals(1, BlockPlanner.cheapestKvSplit(4, 1e6, 1e6, 128, 4));
    // a few queries against many keys: split the keys (replicating the small Q side is cheap)
    assertTrue(BlockPlanner.cheapestKvSplit(16, 1e3, 1e7, 128, 16) > 1);
  }

  /**
   * The default KV shard limit follows the cells: a 16M-token head (8192 blocks of 2048, d 128) is
   * cut into 16 KV shards of 1 GiB (fp32 k+v) where the CPU widens vectors, and stays one shard
   * where cells keep K/V packed for the GPU and the task memory allows; an explicit limit wins.
   */
  @Test
  void theDefaultKvShardLimitCutsLongDocumentsOnlyWhereCellsWidenVectors() {
    DocHead doc = new DocHead("long", 0);
    Map<DocHead, DocSummary> s = Map.of(doc, summary("long", 16L << 20, 128, 0, 8191));
    ScoreOptions auto = options(ScoreOptions.AUTO_MAX_KV_SHARD_BYTES);
    BlockPlanner.CellMemory gpu = new BlockPlanner.CellMemory(false, 2, 1.0);
    BlockPlanner.CellMemory cpu = new BlockPlanner.CellMemory(true, 2, 1.0);
    long taskBytes = 64L << 30;
    BlockPlanner.Plan onGpu = new BlockPlanner(1, auto.kvShardLimit(gpu.widened()), taskBytes, gpu).plan(s, s, true);
    assertEquals(1, onGpu.shards().get(doc).kvShards(), onGpu.description());
    BlockPlanner.Plan onCpu = new BlockPlanner(1, auto.kvShardLimit(cpu.widened()), taskBytes, cpu).plan(s, s, true);
    assertEquals(16, onCpu.shards().get(doc).kvShards(), onCpu.description());
    ScoreOptions asked = options(4L << 30);
    assertEquals(4L << 30, asked.kvShardLimit(false));
    assertEquals(4L << 30, asked.kvShardLimit(true));
    // the task memory still bounds a packed cell: 1 GiB per task needs its K/V in many shards
    BlockPlanner.Plan small = new BlockPlanner(1, auto.kvShardLimit(false), 1L << 30, gpu).plan(s, s, true);
    assertTrue(small.shards().get(doc).kvShards() >= 16, small.description());
  }

  private static ScoreOptions options(long maxKvShardBytes) {
    return new ScoreOptions("in", "out", null, true, ScoreOptions.DEFAULT_BLOCK_SIZE, ScoreOptions.MergeMode.DISTRIBUTED, "gpu", null,
        Double.NaN, null, 0, maxKvShardBytes, 0, false, null, ScoreOptions.AUTO_WRITE_TASKS);
  }

  @Test
  void packedCellsNeedLessMemoryPerRow() {
    BlockPlanner.CellMemory gpu = new BlockPlanner.CellMemory(false, 2, 2.0);
    BlockPlanner.CellMemory cpuBf16 = new BlockPlanner.CellMemory(true, 2, 2.0);
    for (int d : new int[] {64, 128}) {
      assertTrue(gpu.queryRowBytes(d) < cpuBf16.queryRowBytes(d));
      assertTrue(gpu.keyRowBytes(d) < cpuBf16.keyRowBytes(d));
      assertTrue(cpuBf16.keyRowBytes(d) < BlockPlanner.keyRowBytes(d), "fp32 inputs take the most");
    }
  }

  @Test
  void onlyArraysOfHalfARegionOrMoreCostWholeRegions() {
    long mib = 1L << 20;
    assertEquals(1.0, BlockPlanner.CellMemory.humongousFactor(mib, 32 * mib), "an ordinary object on a big heap");
    assertEquals(2.0, BlockPlanner.CellMemory.humongousFactor(mib / 2, mib), 1e-9, "half a region takes a region");
    assertEquals(2.0 * mib / (mib + 4096), BlockPlanner.CellMemory.humongousFactor(mib + 4096, mib), 1e-9);
    assertEquals(1.0, BlockPlanner.CellMemory.humongousFactor(4 * mib, 4 * mib), 1e-9, "exactly a region");
  }
}
