package io.flashspark.job;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Cuts each (document, head)'s block grid into cells that Spark tasks compute.
 *
 * <p>Per (doc, head), Q blocks are grouped into {@code a} Q shards and KV blocks into {@code b}
 * KV shards; a cell is one (Q shard, KV shard) pair. Each Q block travels to {@code b} cells and
 * each KV block to {@code a}, so the bytes shipped are about {@code b·N·d + a·M·2d}, plus the
 * partials to merge when {@code b > 1}; {@link #cheapestKvSplit} picks the cheapest {@code b} for
 * {@code a·b ≈ c} cells. The job's cells are shared
 * among (doc, head)s in proportion to their work, a KV shard is capped at
 * {@code maxKvShardBytes}, and causal cells wholly above the diagonal are never formed.
 *
 * <p>Memory: a task holds one cell. Its bytes are about {@link #queryRowBytes} per query row of
 * its Q shard plus {@link #keyRowBytes} per key row of its KV shard; both shard counts are raised
 * until each side stays within half of {@code maxTaskBytes}, so a document of any length runs on
 * small executors (more cells, more copies of each block shipped, more slowly).
 */
public final class BlockPlanner {
  private final int targetCells;
  private final int targetTasks;
  private final long maxKvShardBytes;
  private final long maxTaskBytes;
  private final CellMemory memory;

  /**
   * @param targetCells cells the job should have in all (e.g. a few per executor core/GPU)
   * @param maxKvShardBytes largest KV shard (k and v, fp32) one task holds
   * @param maxTaskBytes memory one task may use for its cell (see {@link #queryRowBytes})
   */
  public BlockPlanner(int targetCells, long maxKvShardBytes, long maxTaskBytes) {
    this(targetCells, maxKvShardBytes, maxTaskBytes, CellMemory.WIDENED_FP32);
  }

  /** @param memory how a cell holds its rows (see {@link CellMemory}) */
  public BlockPlanner(int targetCells, long maxKvShardBytes, long maxTaskBytes, CellMemory memory) {
    this(targetCells, targetCells, maxKvShardBytes, maxTaskBytes, memory);
  }

  /**
   * @param targetTasks tasks the cells may take (the task slots): more cells than that share
   *     tasks; fewer, and each cell has a task of its own (at least {@code targetCells})
   */
  public BlockPlanner(int targetCells, int targetTasks, long maxKvShardBytes, long maxTaskBytes, CellMemory memory) {
    if (targetCells < 1 || maxKvShardBytes < 1 || maxTaskBytes < 1) {
      throw new IllegalArgumentException("targetCells, maxKvShardBytes and maxTaskBytes must be positive");
    }
    this.targetCells = targetCells;
    this.targetTasks = Math.max(targetCells, targetTasks);
    this.maxKvShardBytes = maxKvShardBytes;
    this.maxTaskBytes = maxTaskBytes;
    this.memory = memory;
  }

  /**
   * Heap bytes per row of a cell. Vectors travel packed, {@code valueBytes} (2 or 4) per value; a
   * cell holds the fragments and the assembled block (the same bytes when a block arrives whole).
   * {@code widened}: the CPU kernel's cells also hold the vectors widened to fp32, a copy rounded
   * to the kernel's precision where that differs from the travelling one, and the transposed keys;
   * the GPU stages the packed bytes as they are. {@code humongous} (1 to 2) multiplies it all: the
   * G1 collector gives an array of half a heap region or more whole regions of its own (1 MiB
   * regions on a 2 GiB heap, where a 1M-token document ran out of memory with the raw estimate and
   * fits with twice it); on large heaps (32 MiB regions) block arrays are ordinary objects.
   */
  public record CellMemory(boolean widened, int valueBytes, double humongous) implements java.io.Serializable {
    /** The most a cell can take: fp32 inputs widened (and rounded) on the CPU, every array humongous. */
    public static final CellMemory WIDENED_FP32 = new CellMemory(true, 4, 2.0);

    /** Per query row: packed q twice, fp32 q and its rounded copy (widened), the partial's o, m, l, pos. */
    public long queryRowBytes(int dim) {
      long packed = 2L * valueBytes * dim;
      return (long) Math.ceil(humongous * (packed + (widened ? 8L * dim : 0) + 4L * dim + 32));
    }

    /** Per key row: packed k, v twice, fp32 k, v, rounded copies and transposed keys (widened), pos. */
    public long keyRowBytes(int dim) {
      long packed = 4L * valueBytes * dim;
      return (long) Math.ceil(humongous * (packed + (widened ? 20L * dim : 0) + 24));
    }

    /**
     * What G1 makes of an array of {@code bytes} in regions of {@code regionBytes}: 1 below half a
     * region, else the whole regions it takes over its size (at most 2).
     */
    public static double humongousFactor(long bytes, long regionBytes) {
      if (bytes <= 0 || bytes < regionBytes / 2) {
        return 1.0;
      }
      long regions = (bytes + regionBytes - 1) / regionBytes;
      return Math.min(2.0, (double) regions * regionBytes / bytes);
    }
  }

  /** {@link CellMemory#queryRowBytes} of the most demanding cells ({@link CellMemory#WIDENED_FP32}). */
  public static long queryRowBytes(int dim) {
    return CellMemory.WIDENED_FP32.queryRowBytes(dim);
  }

  /** {@link CellMemory#keyRowBytes} of the most demanding cells ({@link CellMemory#WIDENED_FP32}). */
  public static long keyRowBytes(int dim) {
    return CellMemory.WIDENED_FP32.keyRowBytes(dim);
  }

  /**
   * The shards of one (doc, head): block-index origin and sizes for Q and KV. Q blocks are cut
   * into chunks of {@code qChunk} blocks. Without zigzag, chunk r is Q shard r. With zigzag
   * (causal, at least two Q shards), there are twice as many chunks and Q shard r holds chunk r and
   * chunk 2a-1-r: an early chunk (few visible keys) with a late one (many), so every Q shard has
   * about the same causal work, as context-parallel attention does. KV blocks are cut the same way
   * into chunks of {@code kvChunk} blocks: with {@code kvZigzag} (causal, at least two KV shards),
   * KV shard s holds chunk s and chunk 2b-1-s, an early chunk (seen by many queries) with a late
   * one (seen by few), which makes every cell's causal work equal, not only every Q shard's.
   */
  public record ShardPlan(long qFirstBlock, long qBlocks, long qChunk, int qShardCount, boolean zigzag,
      long kvFirstBlock, long kvBlocks, long kvChunk, int kvShardCount, boolean kvZigzag, boolean causal,
      long firstCellId) implements Serializable {

    static ShardPlan of(long qFirstBlock, long qBlocks, long qShards, long kvFirstBlock, long kvBlocks,
        long kvShards, boolean causal, long firstCellId) {
      Chunks q = Chunks.of(qBlocks, qShards, causal);
      Chunks kv = Chunks.of(kvBlocks, kvShards, causal);
      return new ShardPlan(qFirstBlock, qBlocks, q.chunk, q.shards, q.zigzag, kvFirstBlock, kvBlocks, kv.chunk,
          kv.shards, kv.zigzag, causal, firstCellId);
    }

    /** {@code blocks} cut into {@code shards} shards, of two zigzagged chunks each where causal and long enough. */
    private record Chunks(long chunk, int shards, boolean zigzag) {
      static Chunks of(long blocks, long shards, boolean causal) {
        boolean zigzag = causal && shards > 1 && blocks >= 2 * shards;
        long chunks = zigzag ? 2 * shards : shards;
        long chunk = (blocks + chunks - 1) / chunks;
        return new Chunks(chunk, (int) (zigzag ? shards : (blocks + chunk - 1) / chunk), zigzag);
      }

      static int shardOf(long offset, long chunk, int shards, boolean zigzag) {
        int c = (int) (offset / chunk);
        return zigzag && c >= shards ? 2 * shards - 1 - c : c;
      }
    }

    public int qShards() {
      return qShardCount;
    }

    public int kvShards() {
      return kvShardCount;
    }

    /** The most KV blocks one KV shard holds (two chunks under zigzag). */
    public long kvBlocksPerShard() {
      return kvZigzag ? 2 * kvChunk : kvChunk;
    }

    public int qShardOf(long block) {
      return Chunks.shardOf(block - qFirstBlock, qChunk, qShardCount, zigzag);
    }

    public int kvShardOf(long block) {
      return Chunks.shardOf(block - kvFirstBlock, kvChunk, kvShardCount, kvZigzag);
    }

    /** The first KV block of KV shard {@code shard} (of its early chunk under zigzag). */
    long kvShardFirstBlock(int shard) {
      return kvFirstBlock + shard * kvChunk;
    }

    /** The last Q block index shard {@code shard} may hold (its late chunk under zigzag). */
    long qShardLastBlock(int shard) {
      long lastChunk = zigzag ? 2L * qShardCount - 1 - shard : shard;
      return qFirstBlock + (lastChunk + 1) * qChunk - 1;
    }

    /**
     * Whether Q block {@code qBlock} needs KV shard {@code shard}. Causal: only when the shard
     * starts at or before the Q block (block indices share one position grid).
     */
    public boolean qBlockNeeds(long qBlock, int shard) {
      return !causal || kvShardFirstBlock(shard) <= qBlock;
    }

    /** Whether any Q block of Q shard {@code qShard} needs KV shard {@code kvShard}. */
    public boolean cellNeeded(int qShard, int kvShard) {
      return !causal || kvShardFirstBlock(kvShard) <= qShardLastBlock(qShard);
    }

    public CellKey cell(DocHead docHead, int qShard, int kvShard) {
      return new CellKey(docHead, qShard, kvShard, firstCellId + (long) qShard * kvShards() + kvShard);
    }

    public long cellCount() {
      return (long) qShards() * kvShards();
    }

    /** Cells of this grid that compute something ({@link #cellNeeded}). */
    public long neededCellCount() {
      long needed = 0;
      for (int i = 0; i < qShards(); i++) {
        for (int j = 0; j < kvShards(); j++) {
          needed += cellNeeded(i, j) ? 1 : 0;
        }
      }
      return needed;
    }
  }

  /**
   * The plan of a whole job, with the reasons for its choices. {@code partitionStarts}: the first
   * cell id of each task partition, ascending from 0 (cells in id order, a contiguous run per
   * partition); null: one cell per partition.
   */
  public record Plan(Map<DocHead, ShardPlan> shards, long cells, long neededCells, String description,
      long[] partitionStarts) implements Serializable {
    public Plan(Map<DocHead, ShardPlan> shards, long cells, long neededCells, String description) {
      this(shards, cells, neededCells, description, null);
    }

    /** Task partitions the cells are grouped into. */
    public int partitions() {
      return partitionStarts == null ? (int) Math.max(1, Math.min(cells, Integer.MAX_VALUE)) : partitionStarts.length;
    }

    /** The task partition of cell {@code cell}. */
    public int partitionOf(long cell) {
      return partitionOf(partitionStarts, cell, partitions());
    }

    /** {@link #partitionOf(long)} from a plan's {@code partitionStarts} alone (what tasks get). */
    static int partitionOf(long[] partitionStarts, long cell, int partitions) {
      if (partitionStarts == null) {
        return (int) (cell % partitions);
      }
      int i = java.util.Arrays.binarySearch(partitionStarts, cell);
      return i >= 0 ? i : -i - 2;
    }

    Plan withDescription(String text) {
      return new Plan(shards, cells, neededCells, text, partitionStarts);
    }
  }

  /**
   * @param queries per (doc, head) summary of the query side
   * @param keys per (doc, head) summary of the key/value side (the same map for self-attention)
   */
  public Plan plan(Map<DocHead, DocSummary> queries, Map<DocHead, DocSummary> keys, boolean causal) {
    double totalWork = 0;
    for (DocHead dh : new TreeSet<>(queries.keySet())) {
      DocSummary kv = keys.get(dh);
      if (kv != null) {
        totalWork += work(queries.get(dh), kv, causal);
      }
    }
    Map<DocHead, ShardPlan> shards = new LinkedHashMap<>();
    long cellId = 0;
    long needed = 0;
    long maxA = 1;
    long maxB = 1;
    long kvSplitForMemory = 0;
    long qSplitForMemory = 0;
    long zigzag = 0;
    long kvZigzag = 0;
    for (DocHead dh : new TreeSet<>(queries.keySet())) {
      DocSummary q = queries.get(dh);
      DocSummary kv = keys.get(dh);
      if (kv == null) {
        continue; // no keys: its query rows come out empty without any cell
      }
      double n = q.rows();
      double m = kv.rows();
      long cells = Math.max(1, Math.round(targetCells * work(q, kv, causal) / Math.max(totalWork, 1)));
      long b = cheapestKvSplit(cells, n, m, q.dim(), Math.min(cells, kv.blocks()));
      long kvBytes = (long) (m * 2 * kv.dim() * Float.BYTES);
      long bForMemory = (kvBytes + maxKvShardBytes - 1) / maxKvShardBytes;
      if (bForMemory > b) {
        b = bForMemory;
        kvSplitForMemory++;
      }
      long bForTask = ceilDiv((long) m * memory.keyRowBytes(kv.dim()), maxTaskBytes / 2);
      if (bForTask > b) {
        b = bForTask;
        kvSplitForMemory++;
      }
      b = Math.min(b, kv.blocks());
      long a = Math.max(1, (cells + b - 1) / b);
      long aForTask = ceilDiv((long) n * memory.queryRowBytes(q.dim()), maxTaskBytes / 2);
      if (aForTask > a) {
        a = aForTask;
        qSplitForMemory++;
      }
      a = Math.min(q.blocks(), a);

      ShardPlan plan = ShardPlan.of(q.minBlock(), q.blocks(), a, kv.minBlock(), kv.blocks(), b, causal, cellId);
      shards.put(dh, plan);
      cellId += plan.cellCount();
      needed += plan.neededCellCount();
      maxA = Math.max(maxA, plan.qShards());
      zigzag += plan.zigzag() ? 1 : 0;
      kvZigzag += plan.kvZigzag() ? 1 : 0;
      maxB = Math.max(maxB, plan.kvShards());
    }
    long[] starts = needed > targetTasks ? groupCells(shards, queries, keys, causal, totalWork) : null;
    String description = String.format(
        "%d (doc, head) problems, %d cells (%d needed%s)%s; largest grid %d Q shards x %d KV shards;"
            + " zigzag Q shards in %d problems, zigzag KV shards in %d; split for task memory (%d MiB per task) in %d problems (Q) and"
            + " %d problems (KV)",
        shards.size(), cellId, needed, causal ? ", causal" : "",
        starts == null ? "" : " in " + starts.length + " tasks", maxA, maxB, zigzag, kvZigzag, maxTaskBytes >> 20,
        qSplitForMemory, kvSplitForMemory);
    return new Plan(shards, cellId, needed, description, starts);
  }

  /**
   * More cells than task slots (many short documents, or more heads than a GPU's few cells: at
   * least one cell each): runs of consecutive cells share a task, each run about the job's work
   * over {@code targetTasks} and within the task memory (a task holds all its cells' blocks at
   * once). One task per cell would pay a task's and a Parquet file's overhead per document, and
   * write as many small files; fewer tasks than slots would leave cores idle around the kernels.
   */
  private long[] groupCells(Map<DocHead, ShardPlan> shards, Map<DocHead, DocSummary> queries,
      Map<DocHead, DocSummary> keys, boolean causal, double totalWork) {
    double workPerTask = totalWork / targetTasks;
    List<Long> starts = new ArrayList<>(List.of(0L));
    double workBefore = 0; // of all cells before this one
    long share = 0; // the work share (of targetTasks) the current task fills
    long bytes = 0;
    boolean empty = true;
    for (Map.Entry<DocHead, ShardPlan> e : shards.entrySet()) {
      ShardPlan p = e.getValue();
      DocSummary q = queries.get(e.getKey());
      DocSummary kv = keys.get(e.getKey());
      double cellWork = work(q, kv, causal) / Math.max(1, p.neededCellCount());
      long cellBytes = ceilDiv(q.rows(), p.qShards()) * memory.queryRowBytes(q.dim())
          + ceilDiv(kv.rows(), p.kvShards()) * memory.keyRowBytes(kv.dim());
      for (int i = 0; i < p.qShards(); i++) {
        for (int j = 0; j < p.kvShards(); j++) {
          double w = p.cellNeeded(i, j) ? cellWork : 0;
          // a cell belongs to the share its middle falls in; memory may cut a share further
          long cellShare = Math.min(targetTasks - 1, (long) ((workBefore + w / 2) / Math.max(workPerTask, 1e-300)));
          if (!empty && (cellShare > share || bytes + cellBytes > maxTaskBytes)) {
            starts.add(p.cell(e.getKey(), i, j).id());
            bytes = 0;
          }
          share = Math.max(share, cellShare);
          workBefore += w;
          bytes += cellBytes;
          empty = false;
        }
      }
    }
    return starts.stream().mapToLong(Long::longValue).toArray();
  }

  /**
   * The KV split b (a = ceil(cells/b) Q shards) that ships the fewest bytes for {@code cells}
   * cells: each Q row b times, each key row a times, and, as soon as b > 1, a partial per Q row
   * and KV shard to merge (fp32 o, m, l: more than twice a 16-bit q row, so a Q-stationary plan
   * often wins). Bytes per row assume 16-bit inputs; only the ratios matter.
   */
  static long cheapestKvSplit(long cells, double n, double m, int dim, long maxB) {
    double qRow = 2.0 * dim + 8;
    double kvRow = 4.0 * dim + 8;
    double partialRow = 4.0 * dim + 16;
    long best = 1;
    double bestCost = Double.MAX_VALUE;
    for (long b = 1; b <= Math.max(1, maxB); b++) {
      long a = (cells + b - 1) / b;
      double cost = b * n * qRow + a * m * kvRow + (b > 1 ? b * n * partialRow : 0);
      if (cost < bestCost) {
        bestCost = cost;
        best = b;
      }
    }
    return best;
  }

  /**
   * The bytes a plan moves through shuffles: each block's packed side once per cell that needs it
   * (plus Spark's per-row overhead, per fragment), and the partials of Q blocks that several cells
   * serve (and, where the output is spread over write tasks, those of the others too).
   * {@code mergedBlocks}: how many Q blocks need a merge.
   */
  public record Traffic(long routeBytes, long mergeBytes, long mergedBlocks) {
    public long bytes() {
      return routeBytes + mergeBytes;
    }

    /** The same plan with cells that read their input themselves ({@link DirectCells}): nothing routed. */
    public Traffic unrouted() {
      return new Traffic(0, mergeBytes, mergedBlocks);
    }

    public String description() {
      return String.format("shuffle estimate %.1f MB (routing %.1f MB, partials %.1f MB: %d query blocks merged)",
          bytes() / 1e6, routeBytes / 1e6, mergeBytes / 1e6, mergedBlocks);
    }
  }

  static Traffic traffic(Plan plan, Map<BlockKey, BlockStats.Block> queryBlocks,
      Map<BlockKey, BlockStats.Block> keyBlocks, int dim, boolean spreadOutput) {
    long route = 0;
    long merge = 0;
    long merged = 0;
    for (Map.Entry<BlockKey, BlockStats.Block> e : queryBlocks.entrySet()) {
      DocHead dh = e.getKey().docHead();
      ShardPlan p = plan.shards().get(dh);
      BlockStats.Block b = e.getValue();
      if (p == null || b.queryBytes() == 0) {
        continue;
      }
      int copies = CellRouter.cellsOfQueryBlock(p, dh, e.getKey().index()).size();
      route += copies * (b.queryBytes() + b.fragments() * CellRouter.rowOverhead(dh.docId()));
      if (copies > 1) {
        merged++;
        merge += copies * (BlockPartial.bytes(b.rows(), dim) + 128);
      } else if (copies == 1 && spreadOutput) {
        merge += BlockPartial.bytes(b.rows(), dim) + 128;
      }
    }
    for (Map.Entry<BlockKey, BlockStats.Block> e : keyBlocks.entrySet()) {
      DocHead dh = e.getKey().docHead();
      ShardPlan p = plan.shards().get(dh);
      BlockStats.Block b = e.getValue();
      if (p == null || b.keyBytes() == 0) {
        continue;
      }
      int copies = CellRouter.cellsOfKeyBlock(p, dh, e.getKey().index()).size();
      route += copies * (b.keyBytes() + b.fragments() * CellRouter.rowOverhead(dh.docId()));
    }
    return new Traffic(route, merge, merged);
  }

  private static long ceilDiv(long x, long y) {
    return (x + Math.max(1, y) - 1) / Math.max(1, y);
  }

  /** Query-key pairs of one problem (half for causal self-attention). */
  static double work(DocSummary q, DocSummary kv, boolean causal) {
    return (double) q.rows() * kv.rows() * (causal ? 0.5 : 1.0);
  }
}
