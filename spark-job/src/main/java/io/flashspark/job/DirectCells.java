package io.flashspark.job;

import io.flashspark.attention.PackedRows;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.FutureTask;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.NarrowDependency;
import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Cells that read their input partitions themselves, with no routing shuffle, where the input is
 * already laid out the way the plan cuts it: a token table sorted by (doc, head, pos), as the
 * generator and most writers leave it, holds each cell's rows in a run of input partitions, and
 * each partition feeds one cell (or two, where a partition straddles the boundary of two). The
 * cell's task then packs those partitions' column batches itself ({@link Fragments.Packer}, the
 * same packing and checks as the routed path) and keeps the fragments its cells need: no byte of
 * q/k/v is shuffled, written to local disk or read back (on one H200 the route's map stage took
 * 4.2-5.0 s of the 1M-token x 8-head job, its 6.6 GB of shuffle files read back by the cells
 * another 0.5-1.4 s).
 *
 * <p>Taken for self-attention over a packed Parquet table ({@link ColumnarScan}) when the count
 * found, for every block, the input partitions holding it ({@link BlockStats#inputPartitions}) and
 * the cells' tasks would read no more than the route would pack and ship ({@link #groups}); else
 * the job routes ({@link CellRouter}), as it does with {@code -Dflashspark.directCells=false}. The
 * partitions are read on the executor's reading threads, shared by its tasks, earliest task first
 * ({@link ReadPool}), each read with the reading task's context, as Spark's own helper threads do.
 * The count and the read see the same scan partitions; a task checks that its
 * cells received exactly the rows the count found, so a table changed while the job ran (or any
 * mismatch) fails the job rather than leaving rows out.
 */
final class DirectCells {
  private static final org.apache.logging.log4j.Logger LOG = org.apache.logging.log4j.LogManager.getLogger(DirectCells.class);

  private DirectCells() {}

  /** Whether cells may read their input directly ({@code -Dflashspark.directCells}, default true). */
  static boolean allowed() {
    return Boolean.parseBoolean(System.getProperty("flashspark.directCells", "true"));
  }

  /**
   * Per task partition of {@code plan}, the input partitions its cells read (ascending), or null
   * where the plan needs the routing shuffle: a block whose input partitions the count did not
   * keep, or cells that would read more packed bytes in all (a partition read by several tasks
   * counts once per task) than the route would pack and ship ({@code routeBytes}, the planner's
   * estimate, on top of one read of the table): a table not clustered by doc, head and position,
   * or many Q shards of a problem held by few partitions. Where every row group holds one (doc,
   * head) ({@link BlockStats#rowGroupsOneDocHead}), a task skips the row groups of the heads it does
   * not need, so a partition's rows of one (doc, head) count once per task that needs any of them
   * (Spark packs small files of several heads into one partition, whose tasks would otherwise
   * count it once each and route).
   */
  static int[][] groups(BlockPlanner.Plan plan, BlockStats stats, int inputPartitions, long routeBytes) {
    List<TreeSet<Integer>> feeds = new ArrayList<>(inputPartitions); // per partition, the tasks reading it
    // per (partition, doc head): its bytes (a block's shared among its partitions) and the tasks needing them
    Map<PartitionHead, HeadShare> shares = new java.util.HashMap<>();
    for (int p = 0; p < inputPartitions; p++) {
      feeds.add(new TreeSet<>());
    }
    for (Map.Entry<BlockKey, BlockStats.Block> e : stats.blocks().entrySet()) {
      DocHead dh = e.getKey().docHead();
      BlockPlanner.ShardPlan shards = plan.shards().get(dh);
      if (shards == null) {
        continue; // no cell needs it
      }
      int[] parts = stats.inputPartitions(e.getKey());
      if (parts == null) {
        return null;
      }
      List<Long> cells = new ArrayList<>();
      if (e.getValue().queryBytes() > 0) {
        cells.addAll(CellRouter.cellsOfQueryBlock(shards, dh, e.getKey().index()));
      }
      if (e.getValue().keyBytes() > 0) {
        cells.addAll(CellRouter.cellsOfKeyBlock(shards, dh, e.getKey().index()));
      }
      for (int part : parts) {
        if (part < 0 || part >= inputPartitions) {
          return null; // not the scan the cells would read
        }
        HeadShare share = shares.computeIfAbsent(new PartitionHead(part, dh), k -> new HeadShare());
        share.bytes += (double) (e.getValue().queryBytes() + e.getValue().keyBytes()) / parts.length;
        for (long cell : cells) {
          feeds.get(part).add(plan.partitionOf(cell));
          share.tasks.add(plan.partitionOf(cell));
        }
      }
    }
    // a task reads its partitions whole, or where row groups of other heads are skipped, the heads it needs
    boolean skips = stats.rowGroupsOneDocHead() && ParquetTokens.allowed();
    double read = 0;
    double table = 0;
    for (Map.Entry<PartitionHead, HeadShare> e : shares.entrySet()) {
      HeadShare share = e.getValue();
      table += share.bytes;
      read += share.bytes * (skips ? share.tasks.size() : feeds.get(e.getKey().partition()).size());
    }
    List<List<Integer>> groups = new ArrayList<>(plan.partitions());
    for (int t = 0; t < plan.partitions(); t++) {
      groups.add(new ArrayList<>());
    }
    for (int p = 0; p < inputPartitions; p++) {
      for (int t : feeds.get(p)) {
        groups.get(t).add(p);
      }
    }
    if (read > table + routeBytes) {
      return null;
    }
    int[][] out = new int[plan.partitions()][];
    for (int t = 0; t < out.length; t++) {
      out[t] = groups.get(t).stream().mapToInt(Integer::intValue).toArray();
    }
    return out;
  }

  /** Rows each warm-up thread reads at most ({@link #warmUp}). */
  static final int WARM_UP_ROWS = 65536;
  /** How long it reads at most. */
  static final long WARM_UP_NANOS = 3_000_000_000L;
  private static volatile boolean warmUpStop;

  /**
   * In local mode the driver's JVM runs the cells' tasks too, and their reading threads all start
   * cold at once: on one H100 the first cell's 784 MB took 2.3 s to read on 16 threads, each later
   * cell 0.3-0.5 s, with the GPU idle until the first was in. This runs the same reading path
   * (parquet-mr rows of the scan's first partitions, packed into slabs, thrown away) on threads of
   * its own while the driver counts and plans, so that the JIT has compiled it by the time the
   * tasks read: {@code -Dflashspark.warmUp.threads} threads (default 1), one partition each, up to
   * {@link #WARM_UP_ROWS} rows or {@link #WARM_UP_NANOS}, stopping as soon as a task starts
   * reading. Never fails the job (a table it cannot read is the tasks' to report). Off with {@code
   * -Dflashspark.warmUp=false}, and wherever the cells would not read through parquet-mr; not in
   * cluster mode, where executors have JVMs of their own.
   */
  static void warmUp(org.apache.spark.sql.SparkSession spark, Fragments.Packer packer, ColumnarScan.Tokens scan,
      org.apache.hadoop.conf.Configuration conf) {
    if (!spark.sparkContext().isLocal() || !allowed() || !ParquetTokens.allowed()
        || !Boolean.parseBoolean(System.getProperty("flashspark.warmUp", "true"))) {
      return;
    }
    warmUpStop = false;
    int threads = Math.max(1, Integer.getInteger("flashspark.warmUp.threads", 1));
    for (int i = 0; i < threads; i++) {
      int partition = i;
      Thread t = new Thread(() -> warmUp(packer, scan, conf, partition), "flashspark-warm-up-" + i);
      t.setDaemon(true);
      t.start();
    }
  }

  private static void warmUp(Fragments.Packer packer, ColumnarScan.Tokens scan, org.apache.hadoop.conf.Configuration conf,
      int partition) {
    long start = System.nanoTime();
    long rows = 0;
    try {
      List<FilePartition> partitions = FooterCounts.filePartitions(scan.batches());
      if (partitions == null || partitions.size() <= partition) {
        return;
      }
      try (ParquetTokens tokens = ParquetTokens.of(partitions.get(partition), conf, packer.intHead(), packer.intPos(),
          packer.vectorColumns())) {
        if (tokens == null) {
          return;
        }
        Iterator<Fragments.Piece> pieces = packer.pieces(tokens, PackedRows.Slabs.forThisHeap().orElse(null));
        while (!warmUpStop && rows < WARM_UP_ROWS && System.nanoTime() - start < WARM_UP_NANOS && pieces.hasNext()) {
          rows += pieces.next().rows();
        }
      }
      LOG.info("warm-up: {} rows of input partition {} read and packed in {} ms{}", rows, partition,
          (System.nanoTime() - start) / 1_000_000, warmUpStop ? " (stopped: the tasks read)" : "");
    } catch (RuntimeException | Error e) {
      LOG.info("warm-up stopped after {} rows: {}", rows, e.toString());
    }
  }

  /**
   * The executor's reading threads ({@link ReadPool}): its task slots; {@code
   * -Dflashspark.directCells.threads} sets it.
   */
  static int threads(ClusterShape shape) {
    String asked = System.getProperty("flashspark.directCells.threads");
    return asked != null ? Math.max(1, Integer.parseInt(asked.trim())) : Math.max(1, shape.slotsPerExecutor());
  }

  /** A (doc, head)'s rows in one input partition. */
  private record PartitionHead(int partition, DocHead docHead) {}

  /** Their packed bytes and the tasks whose cells need them. */
  private static final class HeadShare {
    double bytes;
    final TreeSet<Integer> tasks = new TreeSet<>();
  }

  /** One task's partition: the input partitions its cells read. */
  private record Group(int index, Partition[] inputs) implements Partition {}

  /**
   * The cells' tasks as an RDD over the scan's column batches: partition {@code t} depends on the
   * input partitions {@code groups[t]} (narrow: no shuffle) and computes its cells from them.
   */
  static final class CellsRdd extends RDD<CellTask.Computed> {
    private static final long serialVersionUID = 1L;
    private final RDD<ColumnarBatch> scan;
    private final int[][] groups;
    private final Reader reader;

    CellsRdd(RDD<ColumnarBatch> scan, int[][] groups, Reader reader) {
      super(scan.context(), CollectionConverters.asScala(List.<org.apache.spark.Dependency<?>>of(
          dependency(scan, groups))).toList(), scala.reflect.ClassTag$.MODULE$.apply(CellTask.Computed.class));
      this.scan = scan;
      this.groups = groups;
      this.reader = reader;
    }

    private static NarrowDependency<ColumnarBatch> dependency(RDD<ColumnarBatch> scan, int[][] groups) {
      return new NarrowDependency<>(scan) {
        private static final long serialVersionUID = 1L;

        @Override public scala.collection.immutable.Seq<Object> getParents(int partition) {
          List<Object> parents = new ArrayList<>();
          for (int p : groups[partition]) {
            parents.add(p);
          }
          return CollectionConverters.asScala(parents).toList();
        }
      };
    }

    @Override public Partition[] getPartitions() {
      Partition[] inputs = scan.partitions();
      Partition[] out = new Partition[groups.length];
      for (int t = 0; t < groups.length; t++) {
        Partition[] parents = new Partition[groups[t].length];
        for (int i = 0; i < parents.length; i++) {
          parents[i] = inputs[groups[t][i]];
        }
        out[t] = new Group(t, parents);
      }
      return out;
    }

    @Override public scala.collection.immutable.Seq<String> getPreferredLocations(Partition split) {
      java.util.Set<String> hosts = new java.util.LinkedHashSet<>();
      for (Partition p : ((Group) split).inputs()) {
        hosts.addAll(CollectionConverters.asJava(scan.preferredLocations(p)));
      }
      return CollectionConverters.asScala(new ArrayList<>(hosts)).toList();
    }

    @Override public scala.collection.Iterator<CellTask.Computed> compute(Partition split, TaskContext context) {
      Group g = (Group) split;
      return CollectionConverters.asScala(reader.read(g.index(), g.inputs(), scan, context));
    }
  }

  /**
   * The executor's reading threads, shared by the cells' tasks of all jobs: as many as its task
   * slots (the task threads themselves only wait), each taking the queued input partition of the
   * task that queued first (then the partition's place in the task). The tasks then finish reading
   * one after another instead of all at the end, so the first cells compute (on the GPU) while the
   * later ones are still read: on one H200 with 8 cells each reading its own 2 threads, all 8 read
   * for 6 s with the GPU idle, then all 8 computed at once. The threads are started ahead, so that
   * every read goes through the queue: a thread made for a read runs that one first, whichever
   * task it is of (on one H100 the first 16 reads went to the two tasks that queued first, and the
   * task ordered first waited 0.66 s for a thread).
   */
  static final class ReadPool {
    private static ThreadPoolExecutor pool;
    /** Tasks in the order they queued their reads. */
    static final java.util.concurrent.atomic.AtomicLong ARRIVALS = new java.util.concurrent.atomic.AtomicLong();

    private ReadPool() {}

    static synchronized ThreadPoolExecutor get(int threads) {
      if (pool == null) {
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new PriorityBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "flashspark-read-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
        pool.allowCoreThreadTimeOut(true);
      } else if (threads > pool.getMaximumPoolSize()) {
        pool.setMaximumPoolSize(threads);
        pool.setCorePoolSize(threads);
      }
      pool.prestartAllCoreThreads(); // those that timed out idle, again
      return pool;
    }

    /** How long a read queued moments ago waits for the reads of tasks queuing at the same time. */
    static final long SETTLE_NANOS = 10_000_000L;

    /**
     * A queued read to run before {@code job}, taken from the queue (and {@code job} put back), or
     * null. The tasks of a stage queue their reads within a millisecond or two, and idle threads
     * take each read as it comes: on one H100 the first 16 reads went to 4-7 tasks and the first
     * cell's read took as long as the slowest of them (1.6-2.2 s, its first reads cold). A read
     * queued less than {@link #SETTLE_NANOS} ago first waits out the rest of it, so that the other
     * tasks' reads are in the queue, and gives way to the first of them in order.
     */
    static ReadJob queuedBefore(ReadJob job) {
      long young = SETTLE_NANOS - (System.nanoTime() - job.times.queued);
      if (young > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(young);
      }
      ThreadPoolExecutor p;
      synchronized (ReadPool.class) {
        p = pool;
      }
      if (p == null) {
        return null;
      }
      java.util.concurrent.BlockingQueue<Runnable> queue = p.getQueue();
      // threads settling together race for the head: one that loses looks again
      while (queue.peek() instanceof ReadJob first && first.compareTo(job) < 0) {
        if (queue.remove(first)) {
          queue.add(job); // the pool's threads take from the queue (started ahead: none is made for a read)
          return first;
        }
      }
      return null;
    }
  }

  /** One input partition to read, ordered by {@code order}, run with the task's context (the scan's reader asks for it). */
  static final class ReadJob extends FutureTask<Reader.Gathered> implements Comparable<ReadJob> {
    private final TaskContext context;
    private final long[] order;
    private final Times times;

    ReadJob(TaskContext context, long[] order, java.util.concurrent.Callable<Reader.Gathered> read) {
      this(context, order, read, new Times());
    }

    private ReadJob(TaskContext context, long[] order, java.util.concurrent.Callable<Reader.Gathered> read, Times times) {
      super(() -> times.timed(read)); // timed inside the result, so get() sees them
      this.context = context;
      this.order = order;
      this.times = times;
    }

    @Override public void run() {
      ReadJob before = ReadPool.queuedBefore(this);
      if (before != null) {
        before.run(); // this one is back in the queue
        return;
      }
      org.apache.spark.TaskContext$.MODULE$.setTaskContext(context);
      try {
        super.run();
      } finally {
        org.apache.spark.TaskContext$.MODULE$.unset();
      }
    }

    /** When a read was queued, started and ended ({@link System#nanoTime}), and its thread's CPU time. */
    private static final class Times {
      private static final java.lang.management.ThreadMXBean THREADS =
          java.lang.management.ManagementFactory.getThreadMXBean();
      final long queued = System.nanoTime();
      long started;
      long ended;
      long cpuNanos;

      Reader.Gathered timed(java.util.concurrent.Callable<Reader.Gathered> read) throws Exception {
        started = System.nanoTime();
        long cpu = THREADS.getCurrentThreadCpuTime();
        try {
          return read.call();
        } finally {
          cpuNanos = THREADS.getCurrentThreadCpuTime() - cpu;
          ended = System.nanoTime();
        }
      }
    }

    /**
     * How a task's reads went, for its log line: where the time went when a cell's read is slow
     * (waiting for a reading thread, or reading; and of reading, the share on a CPU).
     */
    static String summary(List<ReadJob> jobs, Reader.Gathered read) {
      long queued = Long.MAX_VALUE;
      long firstStart = Long.MAX_VALUE;
      long lastEnd = 0;
      long run = 0;
      long cpu = 0;
      long longest = 0;
      for (ReadJob j : jobs) {
        Times t = j.times;
        queued = Math.min(queued, t.queued);
        firstStart = Math.min(firstStart, t.started);
        lastEnd = Math.max(lastEnd, t.ended);
        run += t.ended - t.started;
        cpu += t.cpuNanos;
        longest = Math.max(longest, t.ended - t.started);
      }
      return String.format("%d read(s): the first began %d ms after the task queued them, the last ended at %d ms;"
          + " each took %d ms on average (longest %d), %.0f%% of it on a CPU; reading row groups into buffers %d ms"
          + " of it on average (%.0f%% on a CPU), decoding and packing the rest; vectors read as plain pages in %d of %d"
          + " row group(s)", jobs.size(), (firstStart - queued) / 1_000_000,
          (lastEnd - queued) / 1_000_000, run / jobs.size() / 1_000_000, longest / 1_000_000,
          100.0 * cpu / Math.max(1, run), read.rowGroupNanos / jobs.size() / 1_000_000,
          100.0 * read.rowGroupCpuNanos / Math.max(1, read.rowGroupNanos), read.plainRowGroups, read.readRowGroups);
    }

    @Override public int compareTo(ReadJob other) {
      return java.util.Arrays.compare(order, other.order);
    }
  }

  /** A task's work: read its input partitions, keep what its cells need, compute them ({@link CellTask}). */
  static final class Reader implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final CellTask cells;
    private final Fragments.Packer packer;
    private final Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards;
    private final long[] partitionStarts;
    private final int partitions;
    private final Broadcast<Map<Long, long[]>> expectedRows;
    private final int threads;
    private final String table;
    private final Broadcast<org.apache.spark.util.SerializableConfiguration> hadoop;

    Reader(CellTask cells, Fragments.Packer packer, Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards,
        BlockPlanner.Plan plan, Broadcast<Map<Long, long[]>> expectedRows, int threads, String table,
        Broadcast<org.apache.spark.util.SerializableConfiguration> hadoop) {
      this.hadoop = hadoop;
      this.cells = cells;
      this.packer = packer;
      this.shards = shards;
      this.partitionStarts = plan.partitionStarts();
      this.partitions = plan.partitions();
      this.expectedRows = expectedRows;
      this.threads = threads;
      this.table = table;
    }

    Iterator<CellTask.Computed> read(int partition, Partition[] inputs, RDD<ColumnarBatch> scan, TaskContext context) {
      return cells.compute("fragments packed from " + inputs.length + " input partition(s)",
          () -> gather(partition, inputs, scan, context));
    }

    /**
     * Packs the input partitions on the executor's reading threads ({@link ReadPool}), one job per
     * partition, and merges what they kept.
     */
    private CellTask.Cells gather(int partition, Partition[] inputs, RDD<ColumnarBatch> scan, TaskContext context)
        throws Exception {
      warmUpStop = true;
      ThreadPoolExecutor pool = ReadPool.get(threads);
      long arrival = ReadPool.ARRIVALS.getAndIncrement();
      List<ReadJob> jobs = new ArrayList<>(inputs.length);
      // the task's blocks in slabs the collector never copies, shared by its reading threads
      PackedRows.Slabs slabs = PackedRows.Slabs.forThisHeap().orElse(null);
      for (int i = 0; i < inputs.length; i++) {
        Partition input = inputs[i];
        ReadJob job = new ReadJob(context, new long[] {arrival, i},
            () -> readOne(partition, input, scan, context, slabs));
        jobs.add(job);
        pool.execute(job);
      }
      Gathered all = new Gathered();
      try {
        for (ReadJob job : jobs) {
          all.add(job.get());
        }
      } catch (java.util.concurrent.ExecutionException e) {
        throw Failures.unwrap(e);
      } finally {
        for (ReadJob job : jobs) {
          job.cancel(false); // queued reads of a failed or killed task are dropped (no-op once done)
        }
      }
      if (!all.problems.isEmpty()) {
        throw InputException.inTask(InputException.invalidRows(table, all.problems));
      }
      if (!jobs.isEmpty()) {
        LOG.info("task {}: {}", context.taskAttemptId(), ReadJob.summary(jobs, all));
      }
      checkRows(partition, all.cells);
      if (all.skippedRowGroups > 0) {
        if (cells.accumulators() != null) {
          cells.accumulators().skippedInputBytes.add(all.skippedBytes);
        }
        LOG.info("task {}: {} row group(s) ({} MB) of its input partitions skipped unread, holding no row of its cells",
            context.taskAttemptId(), all.skippedRowGroups, all.skippedBytes >> 20);
      }
      return all.cells;
    }

    /** What reading input partitions gave a task: its cells' fragments and up to 10 problems. */
    static final class Gathered {
      final CellTask.Cells cells = new CellTask.Cells();
      final List<String> problems = new ArrayList<>();
      int skippedRowGroups;
      long skippedBytes;
      long rowGroupNanos; // reading the files into buffers
      long rowGroupCpuNanos;
      int readRowGroups;
      int plainRowGroups; // of them, vectors read by PlainBinaryPages

      void add(Gathered other) {
        cells.addAll(other.cells);
        skippedRowGroups += other.skippedRowGroups;
        skippedBytes += other.skippedBytes;
        rowGroupNanos += other.rowGroupNanos;
        rowGroupCpuNanos += other.rowGroupCpuNanos;
        readRowGroups += other.readRowGroups;
        plainRowGroups += other.plainRowGroups;
        for (String p : other.problems) {
          if (problems.size() < 10) {
            problems.add(p);
          }
        }
      }
    }

    /** Reads and packs one input partition, keeping the fragments of this task's cells. */
    private Gathered readOne(int partition, Partition input, RDD<ColumnarBatch> scan, TaskContext context,
        PackedRows.Slabs slabs) {
      Gathered out = new Gathered();
      Map<DocHead, BlockPlanner.ShardPlan> plans = shards.value();
      // through parquet-mr where the files allow, else the scan's own column batches
      // (row groups of other tasks' cells skipped unread)
      Iterator<org.apache.spark.sql.catalyst.InternalRow> tokens = input instanceof FilePartition files
          ? ParquetTokens.of(files, hadoop.value().value(), packer.intHead(), packer.intPos(), packer.vectorColumns(),
              (dh, minPos, maxPos) -> needs(partition, plans, dh, minPos, maxPos))
          : null;
      if (tokens == null) {
        tokens = new ColumnarScan.BatchRows(CollectionConverters.asJava(scan.iterator(input, context)));
      }
      try {
        pack(partition, packer.pieces(tokens, slabs), plans, out);
      } finally {
        if (tokens instanceof ParquetTokens own) {
          own.close(); // a failed or cancelled read leaves no file open
          out.skippedRowGroups += own.skippedRowGroups();
          out.skippedBytes += own.skippedBytes();
          out.rowGroupNanos += own.rowGroupNanos();
          out.rowGroupCpuNanos += own.rowGroupCpuNanos();
          out.readRowGroups += own.readRowGroups();
          out.plainRowGroups += own.plainRowGroups();
        }
      }
      return out;
    }

    /**
     * Whether the task's cells need any row of {@code docHead} at positions {@code minPos..maxPos}:
     * a query or key block there that one of its cells takes. A (doc, head) the plan does not know
     * is read, as before, so that its rows are dropped or reported as {@link #pack} decides.
     */
    private boolean needs(int partition, Map<DocHead, BlockPlanner.ShardPlan> plans, DocHead docHead, long minPos,
        long maxPos) {
      BlockPlanner.ShardPlan plan = plans.get(docHead);
      if (plan == null) {
        return true;
      }
      long last = Math.floorDiv(maxPos, (long) packer.blockSize());
      for (long block = Math.floorDiv(minPos, (long) packer.blockSize()); block <= last; block++) {
        for (long cell : CellRouter.cellsOfQueryBlock(plan, docHead, block)) {
          if (mine(cell, partition)) {
            return true;
          }
        }
        for (long cell : CellRouter.cellsOfKeyBlock(plan, docHead, block)) {
          if (mine(cell, partition)) {
            return true;
          }
        }
      }
      return false;
    }

    /** Keeps the pieces of this task's cells; bad rows' problems, up to 10. */
    private void pack(int partition, Iterator<Fragments.Piece> pieces, Map<DocHead, BlockPlanner.ShardPlan> plans,
        Gathered out) {
      while (pieces.hasNext()) {
        Fragments.Piece f = pieces.next();
        if (f.problem() != null) {
          if (out.problems.size() < 10) {
            out.problems.add(f.problem());
          }
          continue;
        }
        BlockPlanner.ShardPlan plan = plans.get(f.docHead());
        if (plan == null) {
          continue;
        }
        BlockKey key = new BlockKey(f.docHead(), f.block());
        if (f.q() != null) {
          for (long cell : CellRouter.cellsOfQueryBlock(plan, f.docHead(), f.block())) {
            if (mine(cell, partition)) {
              out.cells.add(cell, CellRouter.QUERY_SIDE, key, f.q());
            }
          }
        }
        if (f.kv() != null) {
          for (long cell : CellRouter.cellsOfKeyBlock(plan, f.docHead(), f.block())) {
            if (mine(cell, partition)) {
              out.cells.add(cell, CellRouter.KEY_SIDE, key, f.kv());
            }
          }
        }
      }
    }

    private boolean mine(long cell, int partition) {
      return BlockPlanner.Plan.partitionOf(partitionStarts, cell, partitions) == partition;
    }

    /**
     * Every cell of the partition must have received the rows the count found for it: else the
     * table changed under the job, or the read saw other partitions than the count, or (counts from
     * the footers, {@link FooterCounts}) a row group's positions were not distinct, and computing
     * would silently leave rows out. Bad input (exit 2) either way.
     */
    private void checkRows(int partition, CellTask.Cells got) {
      for (Map.Entry<Long, long[]> e : expectedRows.value().entrySet()) {
        long cell = e.getKey();
        if (!mine(cell, partition)) {
          continue;
        }
        long queries = got.rows(cell, CellRouter.QUERY_SIDE);
        long keys = got.rows(cell, CellRouter.KEY_SIDE);
        if (queries != e.getValue()[0] || keys != e.getValue()[1]) {
          throw InputException.inTask("cell " + cell + " read " + queries + " query and " + keys + " key rows from"
              + " table '" + table + "' where counting found " + e.getValue()[0] + " and " + e.getValue()[1]
              + ": a position given twice, or the table changed while the job ran");
        }
      }
    }
  }
}
