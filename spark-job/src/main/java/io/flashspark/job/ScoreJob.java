package io.flashspark.job;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Precision;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;

/**
 * {@code score}: exact attention for every query token, as Dataset operations on binary columns.
 * <ol>
 *   <li>count and plan: per-block row counts from the tokens' keys alone ({@link BlockStats}: no
 *       vector is read) and the head dimension from one row reach the driver, which plans the
 *       cells ({@link BlockPlanner});</li>
 *   <li>read, pack and route, one map stage: each input partition packs its rows into per-block
 *       fragments ({@link Fragments}), checking every row, and sends each fragment's q bytes to
 *       the cells of its Q shard, its k/v bytes to the cells of its KV shard, in the input's
 *       precision, one shuffle ({@link CellRouter}); a bad row stops the job there, before any
 *       cell runs;</li>
 *   <li>compute: one cell per shuffle partition ({@link CellTask});</li>
 *   <li>merge only Q blocks that several cells computed ({@link PartialMerger}), and write the
 *       output through Spark's commit protocol into a staging directory, swapped in at the end.</li>
 * </ol>
 */
public final class ScoreJob {
  private final SparkSession spark;
  private final ScoreOptions options;
  private final Progress progress;
  private PrintStream explainTo;

  public ScoreJob(SparkSession spark, ScoreOptions options, Progress progress) {
    this.spark = spark;
    this.options = options;
    this.progress = progress;
  }

  /**
   * {@code score --explain}: {@link #run} prints Spark's physical plan of the output to {@code out}
   * before computing it, so a user sees which operators run where (with the RAPIDS Accelerator on,
   * which run on the GPU and which fall back).
   */
  public ScoreJob explainTo(PrintStream out) {
    this.explainTo = out;
    return this;
  }

  /** What a run did, for the CLI's summary. */
  public record Result(long queryRows, long keyRows, int dim, BlockPlanner.Plan plan,
      List<String> backends, double pairs, long millis, long kernelMillis, Timings timings) {}

  /**
   * Where the time and the bytes went. Wall-clock milliseconds: reading and packing (with
   * validation and planning), routing (the shuffle's map side), computing the cells, merging, and
   * the commit; task-time milliseconds: kernels, cell tasks (and their reading of the routed
   * fragments), writing output rows. Bytes: Spark's
   * shuffle bytes written in all, by the route and by the merge, and the planner's estimate; the
   * input's stored bytes that cells reading it themselves skipped ({@link ParquetTokens.RowGroupFilter}).
   */
  public record Timings(long readMillis, long routeMillis, long computeMillis, long mergeMillis, long writeMillis,
      long commitMillis,
      long cellTaskMillis, long cellReadMillis, long mergeTaskMillis, long writeTaskMillis, long shuffleBytes,
      long routeBytes,
      long mergeBytes,
      long estimatedBytes, long payloadBytes, long skippedInputBytes) {}

  /**
   * A planned score: the output Dataset, lazy (nothing of the route, cells, merge or output runs
   * until an action on it, except {@code --merge driver}, which merges on the driver at once), and
   * what it caches (cell results read twice before a merge), released by {@link #close}.
   */
  public final class Prepared implements AutoCloseable {
    private final Dataset<Row> output;
    private final BlockPlanner.Plan plan;
    private final BlockPlanner.Traffic traffic;
    private final JobMetrics.Accumulators acc;
    private final BlockStats queryStats;
    private final BlockStats keyStats;
    private final int dim;
    private final double pairs;
    private final long plannedAt;
    private final RowCache cached;
    private final Map<String, Dataset<Row>> fragments = new java.util.LinkedHashMap<>();
    // what the cells read where it is a Dataset of its own (the routing shuffle), explained before the output
    private Dataset<Row> cellsInput;

    private Prepared(Dataset<Row> output, BlockPlanner.Plan plan, BlockPlanner.Traffic traffic,
        JobMetrics.Accumulators acc, BlockStats queryStats, BlockStats keyStats, int dim, double pairs, long plannedAt,
        RowCache cached) {
      this.output = output;
      this.plan = plan;
      this.traffic = traffic;
      this.acc = acc;
      this.queryStats = queryStats;
      this.keyStats = keyStats;
      this.dim = dim;
      this.pairs = pairs;
      this.plannedAt = plannedAt;
      this.cached = cached;
    }

    /** {@code doc_id, head, pos, o, lse}: the output table's schema ({@link OutputTable#schema}). */
    public Dataset<Row> output() {
      return output;
    }

    public BlockPlanner.Plan plan() {
      return plan;
    }

    public long queryRows() {
      return queryStats.rows();
    }

    public long keyRows() {
      return keyStats.rows();
    }

    public int dim() {
      return dim;
    }

    /** Query-key pairs the attention covers (half of N·M per head when causal). */
    public double pairs() {
      return pairs;
    }

    JobMetrics.Accumulators accumulators() {
      return acc;
    }

    /** What the plan shuffles (routing, partials) and how many query blocks it merges. */
    BlockPlanner.Traffic traffic() {
      return traffic;
    }

    /**
     * Reads and checks every row now (one pass over the vectors, which computing the output makes
     * again), so bad input is an {@link InputException} here rather than a failed action later.
     */
    public Prepared validate() {
      for (Map.Entry<String, Dataset<Row>> e : fragments.entrySet()) {
        List<String> problems = Progress.described(spark, "reading and checking every row of '" + e.getKey() + "'",
            () -> e.getValue().where(functions.col("problem").isNotNull()).select("problem").limit(10)
                .as(Encoders.STRING()).collectAsList());
        if (!problems.isEmpty()) {
          throw new InputException(InputException.invalidRows(e.getKey(), problems));
        }
      }
      return this;
    }

    /** Releases the cached cell results; the output cannot be computed after. */
    @Override public void close() {
      cached.close();
      progress.expectWork(null, 0, null);
    }
  }

  /**
   * Reads, validates and plans, and returns the output to compute. {@code keys}: the token table
   * (self-attention) or the key/value table; {@code queries}: the query table for
   * cross-attention, else null. Names are for messages.
   */
  public Prepared prepare(Dataset<Row> keys, String keysName, Dataset<Row> queries, String queriesName) {
    // the GPU's start (local mode: the driver's own device) overlaps the first table's counting
    Background<Void> backend = Background.start(() -> {
      BackendCheck.beforeReading(spark, options);
      return null;
    });
    boolean cross = queries != null;
    progress.step("counting tokens per block of " + options.blockSize() + " positions (keys only: the vectors are"
        + " read once, as they are packed and routed to the cells)");
    RowCache cached = new RowCache();
    try {
      Side keySide;
      try {
        keySide = side(keys, keysName, cross ? TableRole.KEYS : TableRole.SELF);
      } finally {
        backend.join(); // its failure (no usable GPU) comes first
      }
      Side querySide = cross ? side(queries, queriesName, TableRole.QUERIES) : keySide;
      if (querySide.dim != keySide.dim) {
        throw new InputException("table '" + queriesName + "' has vectors of dimension " + querySide.dim + " but '"
            + keysName + "' has " + keySide.dim + "; one job takes one head dimension");
      }
      // the GPU stages packed bytes as they are when they travel in the precision it computes in:
      // cells then never widen q, k, v to fp32, and the planner counts packed bytes per row
      Precision gpuPrecision = options.precision() == null ? Precision.BF16 : options.precision();
      boolean packedCells = options.backend().equals("gpu") && keySide.fragments.shippedIn(gpuPrecision)
          && querySide.fragments.shippedIn(gpuPrecision);
      int valueBytes = Math.max(keySide.fragments.valueBytes(), querySide.fragments.valueBytes());
      return plan(keySide, keysName, querySide, queriesName, cross, !packedCells, valueBytes, cached);
    } catch (Exception e) {
      cached.close(); // also when validation fails
      throw InputException.rethrow(e);
    }
  }

  /** A token table: its fragments (lazy: packed as they are routed), its blocks' statistics, its head dimension. */
  private record Side(Fragments.Table fragments, BlockStats stats, int dim) {}

  /**
   * Counts the table's blocks while the head dimension is read from its first row: for a packed
   * Parquet table from its files (footers or key columns, and a first value), no job; else two small
   * jobs at once.
   */
  private Side side(Dataset<Row> table, String name, TableRole role) {
    TokenTable.Columns cols = TokenTable.columns(table, name, role, options.packedAs());
    String what = role == TableRole.QUERIES ? "queries" : role == TableRole.KEYS ? "keys" : "tokens";
    java.util.Optional<ColumnarScan.Tokens> columnar = ColumnarScan.of(table, role);
    org.apache.hadoop.conf.Configuration hadoop = columnar.map(ColumnarScan.Tokens::hadoop)
        .orElseGet(() -> TokenTable.hadoopConf(spark));
    // a packed Parquet table is counted without a job: from its footers where their statistics settle it,
    // else from its key columns read here (up to KeyColumnCounts.MAX_KEY_BYTES of them)
    Background<BlockStats.Counts> counting = Background.start(() -> {
      java.util.Optional<BlockStats.Counts> footers = columnar.flatMap(scan -> FooterCounts.of(scan, options.blockSize(),
          hadoop));
      if (footers.isPresent()) {
        progress.step(what + " of '" + name + "' counted per block from its Parquet footers (row groups' statistics, no job)");
        return footers.get();
      }
      java.util.Optional<BlockStats.Counts> keys = columnar.flatMap(scan -> KeyColumnCounts.of(scan,
          options.blockSize(), hadoop));
      if (keys.isPresent()) {
        progress.step(what + " of '" + name + "' counted per block from its key columns, read on the driver (no job)");
        return keys.get();
      }
      return Progress.described(spark, "counting " + what + " per block",
          () -> BlockStats.count(cols, options.blockSize(), name));
    });
    int dim;
    Fragments.Table fragments = null;
    try {
      dim = TokenTable.headDimension(cols, name, columnar, hadoop);
      if (dim >= 0) {
        fragments = Fragments.pack(table, name, role, options.packedAs(), options.blockSize(), options.precision(), dim,
            columnar);
        if (fragments.scan() != null && role == TableRole.SELF) { // cells read only self-attention tables themselves
          DirectCells.warmUp(spark, fragments.packer(), fragments.scan(), hadoop); // while the count goes on
        }
      }
    } finally {
      counting.join(); // bad keys (or no rows) come first
    }
    if (dim < 0) {
      throw new InputException("table '" + name + "' has no row with a non-null " + role.vectorColumns().get(0));
    }
    return new Side(fragments, BlockStats.of(counting.join(), fragments, dim), dim);
  }

  /**
   * Work on a thread of its own (which inherits the caller's Spark job properties), joined later:
   * its failure is rethrown as it was, so bad input stays an {@link InputException}.
   */
  private static final class Background<T> {
    private final java.util.concurrent.FutureTask<T> task;

    private Background(java.util.concurrent.Callable<T> work) {
      this.task = new java.util.concurrent.FutureTask<>(work);
    }

    static <T> Background<T> start(java.util.concurrent.Callable<T> work) {
      Background<T> b = new Background<>(work);
      Thread t = new Thread(b.task, "flashspark-prepare");
      t.setDaemon(true);
      t.start();
      return b;
    }

    T join() {
      try {
        return task.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while preparing the job", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw Failures.unwrap(e);
      }
    }
  }

  /** {@code score} from and to files: the output written through a staging directory, timed. */
  public Result run() {
    long start = System.currentTimeMillis();
    org.apache.hadoop.conf.Configuration hadoop = TokenTable.hadoopConf(spark);
    Map<String, String> inputs = new java.util.LinkedHashMap<>();
    inputs.put("input", options.input());
    inputs.put("queries", options.queries());
    OutputPaths.checkSeparate(hadoop, options.output(), inputs);
    OutputPaths.checkWritable(hadoop, options.output(), options.overwrite());
    boolean cross = options.queries() != null;
    JobMetrics metrics = new JobMetrics();
    spark.sparkContext().addSparkListener(metrics);
    try {
      Dataset<Row> keys = TokenTable.open(spark, options.input(), (cross ? TableRole.KEYS : TableRole.SELF).label());
      Dataset<Row> queries = cross ? TokenTable.open(spark, options.queries(), TableRole.QUERIES.label()) : null;
      try (Prepared p = prepare(keys, options.input(), queries, options.queries())) {
        if (explainTo != null) {
          if (p.cellsInput != null) {
            explainTo.println("The cells' input (routed fragments):");
            explainTo.println(explained(p.cellsInput));
            explainTo.println("The output, computed by the cells from it:");
          }
          explainTo.println(explained(p.output));
          if (ColumnarScan.rapidsLoaded(spark) && VectorParquetFormat.supports(p.output.schema())) {
            explainTo.println("The output is written by " + VectorParquetFormat.class.getSimpleName() + " (the job's"
                + " Parquet writer, pages encoded whole), which the plugin leaves on the CPU (its log: unknown file"
                + " format).");
          }
        }
        long commitStart;
        try (OutputPaths.Staged staged = OutputPaths.stage(hadoop, options.output(), options.overwrite())) {
          Progress.described(spark, "reading, packing and routing blocks to cells, computing attention, writing the output", () -> {
            TokenTable.writeParquet(p.output, staged.path(), null);
            return null;
          });
          commitStart = System.currentTimeMillis();
          staged.commit();
        } catch (Exception e) {
          throw InputException.rethrow(e);
        }
        long end = System.currentTimeMillis();
        List<String> backends = new ArrayList<>(new java.util.TreeSet<>(p.acc.backends.value()));
        return new Result(p.queryRows(), p.keyRows(), p.dim, p.plan, backends, p.pairs, end - start,
            p.acc.kernelNanos.value() / 1_000_000,
            timings(metrics, p.acc, start, p.plannedAt, commitStart, end, p.traffic, p.queryStats, p.keyStats, cross));
      }
    } finally {
      spark.sparkContext().removeSparkListener(metrics);
    }
  }

  private Prepared plan(Side keySide, String keysName, Side querySide, String queriesName,
      boolean cross, boolean widened, int valueBytes, RowCache cached) {
    Dataset<Row> keyFragments = keySide.fragments.rows();
    Dataset<Row> queryFragments = querySide.fragments.rows();
    BlockStats keyStats = keySide.stats;
    BlockStats queryStats = querySide.stats;
    int dim = keySide.dim;
    BackendCheck.forDimension(spark, options, dim);
    long queryRows = queryStats.rows();
    if (options.merge() == ScoreOptions.MergeMode.DRIVER) {
      TaskMemory.checkDriverMerge(queryRows, dim);
    }
    // on a cluster the shape's GPUs come from the executors' settings; locally, from the backend
    ClusterShape shape = ClusterShape.of(spark, options.backend().equals("gpu"));
    int targetCells = options.targetCells() > 0 ? options.targetCells() : shape.defaultCells();
    // the block-sized arrays a cell holds: packed key/value and query blocks, vectors widened to fp32
    long blockRows = options.blockSize();
    long region = TaskMemory.heapRegionBytes(spark);
    double humongous = Math.max(
        BlockPlanner.CellMemory.humongousFactor(blockRows * (8 + 4L * valueBytes * dim), region),
        BlockPlanner.CellMemory.humongousFactor(blockRows * (8 + 2L * valueBytes * dim), region));
    if (widened) {
      humongous = Math.max(humongous, BlockPlanner.CellMemory.humongousFactor(blockRows * 4L * dim, region));
    }
    BlockPlanner.CellMemory memory = new BlockPlanner.CellMemory(widened, valueBytes, humongous);
    BlockPlanner.Plan cut = planWithinMemory(targetCells, memory, queryStats, keyStats, shape);
    BlockPlanner.Plan plan = cut.withDescription("for " + shape.description() + ": " + cut.description());
    int writers = options.merge() == ScoreOptions.MergeMode.DRIVER ? 0 : writeTasks(plan, shape);
    // cells read their input partitions themselves where the table is laid out as the plan cuts it
    ColumnarScan.Tokens scan = keySide.fragments.scan();
    BlockPlanner.Traffic routedTraffic = BlockPlanner.traffic(plan, queryStats.blocks(), keyStats.blocks(), dim,
        writers > 0);
    int[][] direct = cross || scan == null || !DirectCells.allowed() ? null
        : DirectCells.groups(plan, keyStats, scan.batches().getNumPartitions(), routedTraffic.routeBytes());
    int readers = direct == null ? 0 : DirectCells.threads(shape);
    BlockPlanner.Traffic traffic = direct == null ? routedTraffic : routedTraffic.unrouted();
    progress.step("plan " + plan.description() + (writers > 0 ? "; output written by " + writers + " tasks" : "")
        + (direct == null ? "" : "; cells read their " + scan.batches().getNumPartitions() + " input partitions"
            + " themselves (no routing shuffle; " + readers + " reading threads per executor, earliest task first)")
        + "; " + traffic.description());
    long planned = System.currentTimeMillis();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards = jsc.broadcast(new HashMap<>(plan.shards()));
    Map<Long, long[]> cellRows = CellRouter.cellRows(plan.shards(), queryStats.blocks(), keyStats.blocks());
    Broadcast<long[][]> largestCells = jsc.broadcast(CellTask.largestCells(plan, cellRows));

    JobMetrics.Accumulators acc = new JobMetrics.Accumulators(spark.sparkContext());
    double pairs = 0;
    for (Map.Entry<DocHead, DocSummary> e : queryStats.docs().entrySet()) {
      DocSummary kv = keyStats.docs().get(e.getKey());
      if (kv != null) {
        pairs += BlockPlanner.work(e.getValue(), kv, options.causal());
      }
    }
    progress.expectWork("attention", pairs, acc.pairsDone);
    AttentionSpec spec = options.spec();
    // the planner's partitions: one cell each, or runs of small cells within the task memory (a
    // partition holds all of its cells' blocks at once)
    int partitions = plan.partitions();
    int[] keys = CellPartitions.keys(partitions);
    CellTask cellTask = new CellTask(shards, largestCells, options.backend(), spec, dim, acc);
    JavaRDD<CellTask.Computed> cells;
    Dataset<Row> cellsInput = null;
    if (direct != null) {
      DirectCells.Reader reader = new DirectCells.Reader(cellTask, keySide.fragments.packer(), shards, plan,
          jsc.broadcast(new HashMap<>(cellRows)), readers, keysName,
          jsc.broadcast(new org.apache.spark.util.SerializableConfiguration(scan.hadoop())));
      cells = new DirectCells.CellsRdd(scan.batches(), direct, reader)
          .setName("flashspark cells reading '" + keysName + "'").toJavaRDD();
    } else {
      Dataset<Row> routed = cross
          ? queryFragments.mapPartitions(new CellRouter.Route(shards, plan, keys, true, false, queriesName),
                  Encoders.row(CellRouter.SCHEMA))
              .union(keyFragments.mapPartitions(new CellRouter.Route(shards, plan, keys, false, true, keysName),
                  Encoders.row(CellRouter.SCHEMA)))
          : keyFragments.mapPartitions(new CellRouter.Route(shards, plan, keys, true, true, keysName),
              Encoders.row(CellRouter.SCHEMA));
      cellsInput = routed.repartition(partitions, functions.col("part"));
      cells = SessionSettings.lazyRdd(cellsInput).mapPartitions(cellTask::routed)
          .setName("flashspark cells of routed fragments");
    }
    // query rows no cell serves come out empty; a scan of the fragments only when the plan has some
    boolean anyUnserved = CellRouter.anyUnserved(plan, queryStats.docs());
    Dataset<Row> unserved = anyUnserved
        ? queryFragments.mapPartitions(new CellRouter.Unserved(shards), Encoders.row(BlockPartial.SCHEMA))
        : spark.createDataFrame(List.of(), BlockPartial.SCHEMA);

    progress.step("computing " + plan.neededCells() + " cells" + (traffic.mergedBlocks() > 0
        ? " and merging the " + traffic.mergedBlocks() + " query blocks served by several cells (" + options.merge() + ")"
        : ""));
    VectorEncoding format = options.outputFormat();
    org.apache.spark.sql.classic.SparkSession session = (org.apache.spark.sql.classic.SparkSession) spark;
    Dataset<Row> out;
    if (options.merge() == ScoreOptions.MergeMode.DRIVER) {
      Dataset<Row> partials = BlockPartial.frame(cells, spark).union(unserved);
      Map<BlockKey, BlockPartial> merged = Progress.described(spark,
          "reading, packing and routing blocks to cells, computing attention, merging on the driver",
          () -> PartialMerger.onDriver(partials.toLocalIterator()));
      out = OutputTable.local(merged, format, session);
    } else if (traffic.mergedBlocks() == 0 && writers == 0) {
      // every block's partial is its result, and the cells write: output rows straight from the cells
      out = OutputTable.fromComputed(cells, format, session);
      if (anyUnserved) {
        out = out.union(OutputTable.fromBlocks(unserved, format));
      }
    } else if (traffic.mergedBlocks() == 0) {
      out = OutputTable.fromBlocks(spread(BlockPartial.frame(cells, spark), writers).union(unserved), format);
    } else {
      // computed once, read twice: final partials straight to the output, the others to the merge
      Dataset<Row> computed = cached.keep(BlockPartial.frame(cells, spark), StorageLevel.MEMORY_AND_DISK());
      Column isFinal = functions.col("final");
      Dataset<Row> merged = PartialMerger.distributed(computed.filter(functions.not(isFinal)),
          spark.sparkContext().defaultParallelism(), acc);
      out = OutputTable.fromBlocks(spread(computed.filter(isFinal), writers).union(unserved).union(merged), format);
    }
    Prepared prepared = new Prepared(out, plan, traffic, acc, queryStats, keyStats, dim, pairs, planned, cached);
    prepared.fragments.put(keysName, keyFragments);
    prepared.cellsInput = cellsInput;
    if (cross) {
      prepared.fragments.put(queriesName, queryFragments);
    }
    return prepared;
  }

  /**
   * Spark's physical plan of {@code d}, formatted (also {@code sql --explain}), and where the session
   * loads the RAPIDS Accelerator, what the plugin would leave on the CPU and why ({@link RapidsExplain}).
   */
  static String explained(Dataset<Row> d) {
    String plan = ((org.apache.spark.sql.classic.Dataset<Row>) d).queryExecution()
        .explainString(org.apache.spark.sql.execution.ExplainMode.fromString("formatted"));
    String rapids = RapidsExplain.notOnGpu(d);
    return rapids == null ? plan
        : plan + "\nThe RAPIDS Accelerator: what it would leave on the CPU, and why\n" + rapids + "\n";
  }

  /**
   * Tasks that write the output: {@code --write-tasks} (0: the cells' tasks write their final
   * partials), by default none of their own unless the cells are at most a quarter of the task
   * slots, as on GPUs with a few long documents: turning partials into Parquet rows is CPU work that
   * would then leave most cores idle, so the final partials are spread over every slot first, at
   * the price of shuffling them once. With half the slots or more writing (1M tokens x 8 heads, 8
   * cells on 16 cores of an H200), the cells writing is faster: 20.9-23.5 s against 24.2-29.1 s,
   * the shuffle of 4.4 GB of fp32 partials costing more than the idle cores.
   */
  private int writeTasks(BlockPlanner.Plan plan, ClusterShape shape) {
    if (options.writeTasks() != ScoreOptions.AUTO_WRITE_TASKS) {
      return options.writeTasks();
    }
    long slots = (long) shape.executors() * shape.slotsPerExecutor();
    return Math.min(plan.neededCells(), plan.partitions()) * 4 <= slots ? (int) Math.min(slots, Integer.MAX_VALUE) : 0;
  }

  /** Final partials, by block over {@code writers} partitions (0: where the cells left them). */
  private static Dataset<Row> spread(Dataset<Row> finals, int writers) {
    return writers == 0 ? finals : finals.repartition(writers, functions.col(TokenTable.DOC_ID),
        functions.col(TokenTable.HEAD), functions.col("block"));
  }

  /**
   * Plans the cells within the task memory: with {@code --max-task-mb}, that; else a task's share
   * of the heap among the tasks that run at once. In local mode fewer cells than task slots run
   * only that many at once (e.g. {@code --cells 8} on 16 cores), so each takes a larger share; a
   * plan that needs more cells than it assumed is made again with the smaller share, until the
   * share times the cells running at once fits the heap.
   */
  private BlockPlanner.Plan planWithinMemory(int targetCells, BlockPlanner.CellMemory memory, BlockStats queries,
      BlockStats keys, ClusterShape shape) {
    int tasks = (int) Math.min(Integer.MAX_VALUE, (long) shape.executors() * shape.slotsPerExecutor());
    if (options.maxTaskBytes() > 0) {
      return new BlockPlanner(targetCells, tasks, options.kvShardLimit(memory.widened()), options.maxTaskBytes(), memory)
          .plan(queries.docs(), keys.docs(), options.causal());
    }
    int slots = shape.slotsPerExecutor();
    int concurrent = shape.local() ? Math.min(slots, targetCells) : slots;
    while (true) {
      BlockPlanner.Plan plan = new BlockPlanner(targetCells, tasks, options.kvShardLimit(memory.widened()),
          TaskMemory.defaultTaskBytes(spark, concurrent), memory).plan(queries.docs(), keys.docs(),
          options.causal());
      int running = (int) Math.min(slots, Math.min(plan.neededCells(), plan.partitions()));
      if (running <= concurrent || concurrent >= slots) {
        return plan;
      }
      concurrent = running;
    }
  }

  /**
   * Sorts the stages that ran after planning by what they did: cell stages and merge stages say so
   * through the accumulators; a shuffle-writing stage before the first cell stage is the route's
   * map side; one after it writes partials for the merge (with AQE, the partials are read from the
   * cached cell results by a stage of their own).
   */
  private static Timings timings(JobMetrics metrics, JobMetrics.Accumulators acc, long start, long planned,
      long commitStart, long end, BlockPlanner.Traffic traffic, BlockStats queries, BlockStats keys, boolean cross) {
    java.util.Set<Integer> cellStages = new java.util.HashSet<>(acc.cellStages.value());
    java.util.Set<Integer> mergeStages = new java.util.HashSet<>(acc.mergeStages.value());
    long firstCell = Long.MAX_VALUE;
    for (JobMetrics.Stage s : metrics.stages()) {
      if (cellStages.contains(s.id())) {
        firstCell = Math.min(firstCell, s.submitted());
      }
    }
    long shuffle = 0;
    long route = 0;
    long merge = 0;
    long[] routeSpan = {Long.MAX_VALUE, 0};
    long[] cellSpan = {Long.MAX_VALUE, 0};
    long[] mergeSpan = {Long.MAX_VALUE, 0};
    long[] writeSpan = {Long.MAX_VALUE, 0};
    for (JobMetrics.Stage s : metrics.stages()) {
      shuffle += s.shuffleWritten();
      if (s.submitted() < planned) {
        continue;
      }
      long[] span = null;
      if (cellStages.contains(s.id())) {
        span = cellSpan;
        merge += s.shuffleWritten(); // partials written straight from the cells
      } else if (mergeStages.contains(s.id())) {
        span = mergeSpan;
      } else if (s.shuffleWritten() > 0 && s.submitted() < firstCell) {
        span = routeSpan;
        route += s.shuffleWritten();
      } else if (s.shuffleWritten() > 0) {
        span = mergeSpan;
        merge += s.shuffleWritten();
      } else if (s.submitted() >= firstCell) {
        span = writeSpan; // tasks of their own writing spread final partials
      }
      if (span != null) {
        span[0] = Math.min(span[0], s.submitted());
        span[1] = Math.max(span[1], s.completed());
      }
    }
    long payload = queries.payloadBytes("q") + (cross ? keys.payloadBytes("kv") : queries.payloadBytes("kv"));
    return new Timings(planned - start, millis(routeSpan), millis(cellSpan), millis(mergeSpan), millis(writeSpan),
        end - commitStart,
        acc.cellNanos.value() / 1_000_000, acc.cellReadNanos.value() / 1_000_000,
        acc.mergeNanos.value() / 1_000_000, acc.outputNanos.value() / 1_000_000,
        shuffle, route, merge,
        traffic.bytes(), payload, acc.skippedInputBytes.value());
  }

  private static long millis(long[] span) {
    return span[0] == Long.MAX_VALUE ? 0 : Math.max(0, span[1] - span[0]);
  }
}
