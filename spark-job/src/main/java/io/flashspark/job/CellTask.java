package io.flashspark.job;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Backends;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.PackedRows;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;

/**
 * The executor's work for the cells of one shuffle partition (one cell, as the job places them):
 * the routed fragments are assembled into blocks ({@link PackedRows#concat}), then every Q block
 * of the cell against every KV block of the cell it can see, in calls that sweep all local KV
 * blocks, so a Q block leaves the cell as one partial whatever the number of its KV blocks. The
 * cells compute on a thread of their own ({@link StreamedRows}) and each Q block's partial leaves
 * as soon as the backend has it (the GPU hands them over chunk by chunk), so the task's thread
 * writes the first blocks' output while the GPU computes the rest; that thread starts before the
 * blocks are read and readies the backend for the task's largest cell meanwhile
 * ({@link AttentionBackend#prepare}). A pure function of its inputs,
 * so Spark may retry or speculate it. Yields one {@link Computed} per Q block, which the job turns
 * into {@link BlockPartial} rows (for a merge or the writers' shuffle) or straight into output rows
 * ({@link OutputTable#fromComputed}).
 */
public final class CellTask implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LogManager.getLogger(CellTask.class);
  private final Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards;
  private final Broadcast<long[][]> largestCells;
  private final String backendName;
  private final AttentionSpec spec;
  private final int dim;
  private final JobMetrics.Accumulators acc;

  /**
   * @param largestCells per task partition, the query and key rows of its largest cell (null: none),
   *     from {@link #largestCells}
   * @param dim the job's head dimension
   */
  CellTask(Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards, Broadcast<long[][]> largestCells,
      String backendName, AttentionSpec spec, int dim, JobMetrics.Accumulators acc) {
    this.shards = shards;
    this.largestCells = largestCells;
    this.backendName = backendName;
    this.spec = spec;
    this.dim = dim;
    this.acc = acc;
  }

  /** The job's counters (null in tests that compute cells alone). */
  JobMetrics.Accumulators accumulators() {
    return acc;
  }

  /**
   * Per task partition of {@code plan}, {@code {query rows, key rows}} of the cell whose launch
   * takes the most device memory (null where the partition has no cell), from
   * {@link CellRouter#cellRows}.
   */
  static long[][] largestCells(BlockPlanner.Plan plan, Map<Long, long[]> cellRows) {
    long[][] out = new long[plan.partitions()][];
    for (Map.Entry<Long, long[]> e : cellRows.entrySet()) {
      int p = plan.partitionOf(e.getKey());
      long[] rows = e.getValue();
      if (rows[0] > 0 && rows[1] > 0 && (out[p] == null || launchRows(rows) > launchRows(out[p]))) {
        out[p] = rows;
      }
    }
    return out;
  }

  private static long launchRows(long[] rows) {
    return rows[0] + 2 * rows[1];
  }

  /**
   * One Q block's partial from one cell: its positions and partial, and whether it is the block's
   * only one (no other cell sees the block, so it is final as it stands).
   */
  public record Computed(BlockKey key, BlockPartial block, boolean only) {
    /** As a {@link BlockPartial#SCHEMA} row, {@code final} where the block has no other partial. */
    Row toRow() {
      return block.toRow(key, only);
    }
  }

  /** The cells of a partition of routed fragments ({@link CellRouter#SCHEMA} rows). */
  public Iterator<Computed> routed(Iterator<Row> routed) {
    return compute("routed fragments", () -> {
      Cells cells = new Cells();
      while (routed.hasNext()) {
        Row r = routed.next();
        cells.add(r.getLong(1), r.getInt(2), new BlockKey(new DocHead(r.getString(3), r.getInt(4)), r.getLong(5)),
            PackedRows.of((byte[]) r.get(6)));
      }
      return cells;
    });
  }

  /**
   * A task's cells as their fragments arrive: cell id -> {query side, key side}, each block of a
   * side -> its fragments (assembled into one block when the cell computes).
   */
  static final class Cells {
    final Map<Long, Map<BlockKey, List<PackedRows>>[]> byCell = new TreeMap<>();
    long fragments;
    long bytes;

    @SuppressWarnings("unchecked")
    void add(long cell, int side, BlockKey block, PackedRows fragment) {
      Map<BlockKey, List<PackedRows>>[] sides = byCell.computeIfAbsent(cell,
          c -> new Map[] {new TreeMap<>(BLOCK_ORDER), new TreeMap<>(BLOCK_ORDER)});
      sides[side].computeIfAbsent(block, k -> new ArrayList<>()).add(fragment);
      fragments++;
      bytes += fragment.size();
    }

    /** Adds every fragment {@code other} holds. */
    void addAll(Cells other) {
      for (Map.Entry<Long, Map<BlockKey, List<PackedRows>>[]> e : other.byCell.entrySet()) {
        for (int side = 0; side < 2; side++) {
          for (Map.Entry<BlockKey, List<PackedRows>> b : e.getValue()[side].entrySet()) {
            for (PackedRows f : b.getValue()) {
              add(e.getKey(), side, b.getKey(), f);
            }
          }
        }
      }
    }

    /** Rows received by {@code cell} on {@code side}. */
    long rows(long cell, int side) {
      Map<BlockKey, List<PackedRows>>[] sides = byCell.get(cell);
      if (sides == null) {
        return 0;
      }
      long rows = 0;
      for (List<PackedRows> fragments : sides[side].values()) {
        for (PackedRows f : fragments) {
          rows += f.rows();
        }
      }
      return rows;
    }
  }

  /**
   * Computes the cells that {@code read} gathers on the task's thread ({@code what} they are made
   * of, for the log): the compute thread starts first and readies the backend for the task's
   * largest cell while they are read.
   */
  Iterator<Computed> compute(String what, java.util.concurrent.Callable<Cells> read) {
    failIfAsked();
    long start = System.nanoTime();
    // what needs the task's context is read here, on the task's thread
    String gpu = taskGpu();
    TaskContext task = TaskContext.get();
    int stage = task == null ? -1 : task.stageId();
    String thread = "flashspark-cells-" + (task == null ? "driver" : "task-" + task.taskAttemptId());
    long[][] largest = largestCells == null ? null : largestCells.value();
    long[] expected = task == null || largest == null || task.partitionId() >= largest.length ? null
        : largest[task.partitionId()];
    // the cells compute on a thread of their own, which readies the device for the largest of them
    // while this thread reads their blocks, and then passes finished query blocks on
    CompletableFuture<Cells> gathered = new CompletableFuture<>();
    Iterator<Computed> computed = StreamedRows.start(thread, out -> {
      Cells cells;
      try (AttentionBackend.Prepared ready = prepare(expected, gpu)) {
        cells = gathered.get();
        for (Map.Entry<Long, Map<BlockKey, List<PackedRows>>[]> cell : cells.byCell.entrySet()) {
          Map<BlockKey, List<PackedRows>>[] sides = cell.getValue();
          computeCell(thread + " cell " + cell.getKey(), sides[CellRouter.QUERY_SIDE], sides[CellRouter.KEY_SIDE],
              gpu, out);
        }
      }
      if (acc != null && !cells.byCell.isEmpty()) {
        acc.cellStages.add(stage);
        acc.cellNanos.add(System.nanoTime() - start);
      }
    }, acc == null ? null : acc.outputNanos::add);
    Cells cells;
    try {
      cells = read.call();
    } catch (Exception | Error e) {
      gathered.completeExceptionally(e); // the compute thread stops waiting; the task fails with this
      if (e instanceof RuntimeException r) {
        throw r;
      }
      if (e instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e);
    }
    long readNanos = System.nanoTime() - start;
    if (acc != null) {
      acc.cellReadNanos.add(readNanos);
    }
    if (!cells.byCell.isEmpty()) {
      LOG.info("{}: {} {} ({} MB) of {} cell(s) read in {} ms", thread, cells.fragments, what, cells.bytes >> 20,
          cells.byCell.size(), readNanos / 1_000_000);
    }
    gathered.complete(cells);
    return computed;
  }

  /**
   * The backend for the job's head dimension: {@code auto} computes on the CPU where the GPU has no kernel;
   * {@code gpu} fails where Spark gave the task no GPU.
   */
  private AttentionBackend backend(String gpu) {
    requireGpu(backendName, gpu, onDriver());
    AttentionBackend backend = Backends.forName(backendName, gpu);
    if (backendName.equals("auto") && !backend.supports(dim, spec.precision())) {
      backend = Backends.forName("cpu"); // e.g. fp32 asked for, or a head dimension without GPU kernel
    }
    return backend;
  }

  /** Readies the backend for a cell of {@code rows} ({query rows, key rows}; null: none expected). */
  private AttentionBackend.Prepared prepare(long[] rows, String gpu) {
    if (rows == null) {
      return AttentionBackend.Prepared.NONE;
    }
    AttentionBackend backend = backend(gpu);
    return backend.prepare(dim, rows[0], rows[1], ScoreOptions.resolvePrecision(spec, backend));
  }

  private static final Comparator<BlockKey> BLOCK_ORDER = Comparator.comparing(BlockKey::docHead)
      .thenComparingLong(BlockKey::index);

  private void computeCell(String name, Map<BlockKey, List<PackedRows>> queryFragments,
      Map<BlockKey, List<PackedRows>> kvFragments, String gpu, Consumer<Computed> out) {
    if (queryFragments.isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    List<BlockKey> qKeys = new ArrayList<>(queryFragments.keySet());
    List<QueryBlock> queries = new ArrayList<>(qKeys.size());
    for (BlockKey k : qKeys) {
      queries.add(assemble(k, queryFragments.get(k)).queryBlock());
    }
    queryFragments.clear();
    // one KeyValueBlock object per KV block, shared by every query's list: the backends stage
    // (GPU) or transpose (CPU) each distinct block once per call
    List<KeyValueBlock> keyValues = new ArrayList<>(kvFragments.size());
    for (Map.Entry<BlockKey, List<PackedRows>> e : kvFragments.entrySet()) {
      keyValues.add(assemble(e.getKey(), e.getValue()).keyValueBlock());
    }
    kvFragments.clear();
    List<List<KeyValueBlock>> visible = new ArrayList<>(queries.size());
    long[] pairs = new long[queries.size()];
    for (int i = 0; i < queries.size(); i++) {
      QueryBlock q = queries.get(i);
      long qMax = q.pos()[q.rows() - 1];
      List<KeyValueBlock> seen = new ArrayList<>();
      for (KeyValueBlock kv : keyValues) {
        if (!spec.causal() || kv.pos()[0] <= qMax) {
          seen.add(kv);
          pairs[i] += (long) q.rows() * kv.rows();
        }
      }
      visible.add(seen);
    }
    AttentionBackend backend = backend(gpu);
    AttentionSpec resolved = ScoreOptions.resolvePrecision(spec, backend);
    // calls of about pairsPerCall pairs each (whole Q blocks), so progress reaches the driver
    // while a long cell computes (accumulators travel with executor heartbeats); each query
    // block's partial leaves as a row as soon as the backend has it
    long perCall = backend.pairsPerCall(dim);
    long nanos = 0;
    long assembled = System.nanoTime();
    long[] firstOut = {0};
    String[] firstStartup = {null};
    for (int from = 0; from < queries.size(); ) {
      int to = from;
      long callPairs = 0;
      while (to < queries.size() && (to == from || callPairs + pairs[to] <= perCall)) {
        callPairs += pairs[to++];
      }
      int first = from;
      backend.attend(queries.subList(from, to), visible.subList(from, to), resolved, (i, partial) -> {
        BlockKey k = qKeys.get(first + i);
        boolean only = CellRouter.cellsOfQueryBlock(shards.value().get(k.docHead()), k.docHead(), k.index()).size() == 1;
        if (firstOut[0] == 0) {
          firstOut[0] = System.nanoTime();
        }
        out.accept(new Computed(k, new BlockPartial(queries.get(first + i).pos(), partial), only));
      });
      nanos += backend.lastKernelNanos();
      if (firstStartup[0] == null) {
        firstStartup[0] = backend.lastStartup();
      }
      if (acc != null) {
        acc.pairsDone.add(callPairs);
      }
      from = to;
    }
    long end = System.nanoTime();
    String startup = firstStartup[0] == null ? "" : "; first call: " + firstStartup[0];
    LOG.info("{}: {} query and {} key/value blocks assembled in {} ms; first partial after {} ms more, last after {} ms"
        + " (kernels {} ms{})", name, queries.size(), keyValues.size(), (assembled - start) / 1_000_000,
        (firstOut[0] - assembled) / 1_000_000, (end - assembled) / 1_000_000, nanos / 1_000_000, startup);
    if (acc != null) {
      acc.backends.add(backend.name() + " " + resolved.precision().label() + (gpu == null ? "" : " (Spark GPU " + gpu + ")"));
      acc.kernelNanos.add(nanos);
    }
  }

  /** One block from its fragments; positions seen twice are bad input, reported as such. */
  private static PackedRows assemble(BlockKey key, List<PackedRows> fragments) {
    try {
      return PackedRows.concat(fragments);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(InputException.MARKER + key.docHead() + ": " + e.getMessage());
    }
  }

  /**
   * Tests of failure handling set the job-local property {@value #FAULT} (through
   * {@code SparkContext.setLocalProperty} on the thread that runs the job): every cell task then
   * fails, as a lost executor or a kernel error would. Nothing else sets it.
   */
  static final String FAULT = "flashspark.test.failCellTasks";

  private static void failIfAsked() {
    TaskContext task = TaskContext.get();
    if (task != null && task.getLocalProperty(FAULT) != null) {
      throw new IllegalStateException("cell task failed on purpose (" + FAULT + " is set)");
    }
  }

  /**
   * {@code --backend gpu} in an executor whose task was given no GPU would compute on whatever
   * device 0 is, shared with other executors unasked: refused, saying what to set. In local mode
   * (the driver computes) the default device serves.
   */
  static void requireGpu(String backendName, String gpuAddress, boolean onDriver) {
    if (backendName.equals("gpu") && gpuAddress == null && !onDriver) {
      throw new IllegalStateException("--backend gpu: this executor's task was given no GPU by Spark; set"
          + " spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount (and a discovery script,"
          + " conf/gpu-discovery.sh) so that every executor gets its own GPU");
    }
  }

  private static boolean onDriver() {
    org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
    return env == null || "driver".equals(env.executorId()); // SparkContext.DRIVER_IDENTIFIER
  }

  /**
   * The address of the GPU Spark assigned to this task (spark.task.resource.gpu.amount) as the
   * discovery script gave it (an ordinal, a GPU UUID or a MIG instance), or null for the default.
   */
  static String taskGpu() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return null;
    }
    scala.Option<ResourceInformation> gpu = task.resources().get("gpu");
    if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
      return null;
    }
    return gpu.get().addresses()[0].trim();
  }
}
