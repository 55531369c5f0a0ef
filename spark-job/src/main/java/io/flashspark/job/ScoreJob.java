package io.flashspark.job;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * {@code score}: exact attention for every query token. Stages, in order:
 * <ol>
 *   <li>decode the token tables and pack tokens into blocks of T positions per (doc, head);</li>
 *   <li>validate: per (doc, head) summaries reach the driver, which stops with every problem found
 *       before anything is written;</li>
 *   <li>plan the cells ({@link BlockPlanner});</li>
 *   <li>ship each Q block and KV block to the cells that need them and compute partials
 *       ({@link CellTask});</li>
 *   <li>merge the partials of each Q block ({@link PartialMerger}) and write the output through
 *       Spark's commit protocol.</li>
 * </ol>
 */
public final class ScoreJob {
  private final SparkSession spark;
  private final ScoreOptions options;
  private final Progress progress;

  public ScoreJob(SparkSession spark, ScoreOptions options, Progress progress) {
    this.spark = spark;
    this.options = options;
    this.progress = progress;
  }

  /** What a run did, for the CLI's summary. */
  public record Result(long queryRows, long keyRows, int dim, BlockPlanner.Plan plan,
      List<String> backends, double pairs, long millis, long kernelMillis) {}

  public Result run() {
    long start = System.currentTimeMillis();
    org.apache.hadoop.conf.Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    Map<String, String> inputs = new java.util.LinkedHashMap<>();
    inputs.put("input", options.input());
    inputs.put("queries", options.queries());
    OutputPaths.checkSeparate(hadoop, options.output(), inputs);
    OutputPaths.checkWritable(hadoop, options.output(), options.overwrite());
    BackendCheck.beforeReading(spark, options);
    boolean cross = options.queries() != null;
    int blockSize = options.blockSize();

    progress.step("reading and packing tokens into blocks of " + blockSize + " positions");
    long taskBytes = options.maxTaskBytes() > 0 ? options.maxTaskBytes() : TaskMemory.defaultTaskBytes(spark);
    JavaPairRDD<BlockKey, TokenBlock> keyBlocks = blocks(
        TokenTable.read(spark, options.input(), cross ? TableRole.KEYS : TableRole.SELF, options.packedAs()),
        cross ? TableRole.KEYS : TableRole.SELF, blockSize,
        TaskMemory.blockPartitions(spark, options.input(), taskBytes));
    JavaPairRDD<BlockKey, TokenBlock> queryBlocks = cross
        ? blocks(TokenTable.read(spark, options.queries(), TableRole.QUERIES, options.packedAs()),
            TableRole.QUERIES, blockSize, TaskMemory.blockPartitions(spark, options.queries(), taskBytes))
        : keyBlocks;

    try {
      return scoreBlocks(keyBlocks, queryBlocks, cross, start, taskBytes);
    } finally {
      keyBlocks.unpersist(false); // also when validation or the job fails
      queryBlocks.unpersist(false);
    }
  }

  /** Validation, plan, cells, merge and output, once the blocks exist. */
  private Result scoreBlocks(JavaPairRDD<BlockKey, TokenBlock> keyBlocks,
      JavaPairRDD<BlockKey, TokenBlock> queryBlocks, boolean cross, long start, long taskBytes) {
    progress.step("validating input");
    Map<DocHead, DocSummary> keySummary = summarize(keyBlocks, options.input());
    Map<DocHead, DocSummary> querySummary = cross ? summarize(queryBlocks, options.queries()) : keySummary;
    int dim = checkDimensions(querySummary, keySummary);
    BackendCheck.forDimension(spark, options, dim);
    long queryRows = querySummary.values().stream().mapToLong(DocSummary::rows).sum();
    long keyRows = keySummary.values().stream().mapToLong(DocSummary::rows).sum();
    if (options.merge() == ScoreOptions.MergeMode.DRIVER) {
      TaskMemory.checkDriverMerge(queryRows, dim);
    }

    // one cell per core by default: both backends parallelise inside a cell (CPU: all cores of the
    // executor; GPU: the whole device), so more cells only replicate more blocks (the first 1M-token
    // GPU run with 4 cells per core shipped 30 GB instead of 13 GB)
    int targetCells = options.targetCells() > 0 ? options.targetCells()
        : spark.sparkContext().defaultParallelism();
    BlockPlanner.Plan plan = new BlockPlanner(targetCells, options.maxKvShardBytes(), taskBytes)
        .plan(querySummary, keySummary, options.causal());
    progress.step("plan: " + plan.description());
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards = jsc.broadcast(new HashMap<>(plan.shards()));

    CollectionAccumulator<String> used = spark.sparkContext().collectionAccumulator("flashspark backends");
    LongAccumulator kernelNanos = spark.sparkContext().longAccumulator("flashspark kernel nanos");
    LongAccumulator pairsDone = spark.sparkContext().longAccumulator("flashspark pairs done");
    double pairs = 0;
    for (Map.Entry<DocHead, DocSummary> e : querySummary.entrySet()) {
      DocSummary kv = keySummary.get(e.getKey());
      if (kv != null) {
        pairs += BlockPlanner.work(e.getValue(), kv, options.causal());
      }
    }
    progress.expectWork("attention", pairs, pairsDone);
    AttentionSpec spec = options.spec();
    String backend = options.backend();
    // one cell per partition: a cogroup partition holds all of its cells' blocks at once, so more
    // cells per partition would break the planner's memory bound (a 2 GB heap ran out with 15)
    int partitions = (int) Math.max(1, Math.min(plan.cells(), Integer.MAX_VALUE));
    JavaPairRDD<BlockKey, BlockPartial> partials = cells(queryBlocks, keyBlocks, shards, partitions)
        .flatMapToPair(cell -> CellTask.compute(cell._2()._1(), cell._2()._2(), backend, spec, used,
            kernelNanos, pairsDone));
    JavaPairRDD<BlockKey, BlockPartial> unserved = emptyPartials(queryBlocks, shards);

    progress.step("computing " + plan.neededCells() + " cells and merging (" + options.merge() + ")");
    Dataset<Row> out;
    if (options.merge() == ScoreOptions.MergeMode.DISTRIBUTED) {
      JavaRDD<Row> rows = PartialMerger.distributed(partials.union(unserved), partitions)
          .flatMap(e -> OutputTable.rows(e._1(), e._2()).iterator());
      out = spark.createDataFrame(rows, OutputTable.SCHEMA);
    } else {
      List<Row> rows = new ArrayList<>();
      PartialMerger.onDriver(partials.union(unserved).toLocalIterator())
          .forEach((key, merged) -> rows.addAll(OutputTable.rows(key, merged)));
      out = spark.createDataFrame(rows, OutputTable.SCHEMA);
    }
    try (OutputPaths.Staged staged = OutputPaths.stage(spark.sparkContext().hadoopConfiguration(), options.output(),
        options.overwrite())) {
      out.write().parquet(staged.path());
      staged.commit();
    } finally {
      progress.expectWork(null, 0, null);
    }
    List<String> backends = new ArrayList<>(new java.util.TreeSet<>(used.value()));
    return new Result(queryRows, keyRows, dim, plan, backends, pairs, System.currentTimeMillis() - start,
        kernelNanos.value() / 1_000_000);
  }

  static JavaPairRDD<BlockKey, TokenBlock> blocks(JavaRDD<Token> tokens, TableRole role, int blockSize,
      int partitions) {
    return tokens
        .mapToPair(t -> new Tuple2<>(new BlockKey(new DocHead(t.docId(), t.head()),
            Math.floorDiv(t.pos(), (long) blockSize)), t))
        .groupByKey(partitions)
        .mapToPair(g -> new Tuple2<>(g._1(), BlockBuilder.build(g._1(), g._2(), role)))
        // on local disk (the page cache keeps them warm): cached blocks held in the heap, even
        // serialised, took the room the cells need (a 2 GB heap ran out of memory with both)
        .persist(StorageLevel.DISK_ONLY());
  }

  private static Map<DocHead, DocSummary> summarize(JavaPairRDD<BlockKey, TokenBlock> blocks, String table) {
    Map<DocHead, DocSummary> summary = new TreeMap<>(blocks
        .mapToPair(b -> new Tuple2<>(b._1().docHead(), DocSummary.of(b._2())))
        .reduceByKey(DocSummary::merge)
        .collectAsMap());
    if (summary.isEmpty()) {
      throw new InputException("table '" + table + "' has no rows");
    }
    List<String> problems = new ArrayList<>();
    for (DocSummary s : summary.values()) {
      for (String p : s.problems()) {
        if (problems.size() < 10) {
          problems.add(p);
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new InputException("table '" + table + "' has invalid rows; nothing was written:\n  "
          + String.join("\n  ", problems));
    }
    return summary;
  }

  /** One head dimension for the whole job (the kernels are specialised per d). */
  private static int checkDimensions(Map<DocHead, DocSummary> queries, Map<DocHead, DocSummary> keys) {
    int dim = -1;
    DocHead first = null;
    for (Map<DocHead, DocSummary> side : List.of(queries, keys)) {
      for (DocSummary s : side.values()) {
        if (dim < 0) {
          dim = s.dim();
          first = s.docHead();
        } else if (s.dim() != dim) {
          throw new InputException(s.docHead() + " has vectors of dimension " + s.dim() + " but " + first
              + " has " + dim + "; one job takes one head dimension");
        }
      }
    }
    return dim;
  }

  /** Groups Q blocks and KV blocks by the cells that need them. */
  private static JavaPairRDD<CellKey, Tuple2<Iterable<TokenBlock>, Iterable<TokenBlock>>> cells(
      JavaPairRDD<BlockKey, TokenBlock> queryBlocks, JavaPairRDD<BlockKey, TokenBlock> keyBlocks,
      Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards, int partitions) {
    JavaPairRDD<CellKey, TokenBlock> qSide = queryBlocks.flatMapToPair(e -> {
      BlockPlanner.ShardPlan plan = shards.value().get(e._1().docHead());
      List<Tuple2<CellKey, TokenBlock>> out = new ArrayList<>();
      if (plan != null) {
        int qShard = plan.qShardOf(e._1().index());
        for (int s = 0; s < plan.kvShards(); s++) {
          if (plan.qBlockNeeds(e._1().index(), s)) {
            out.add(new Tuple2<>(plan.cell(e._1().docHead(), qShard, s), e._2()));
          }
        }
      }
      return out.iterator();
    });
    JavaPairRDD<CellKey, TokenBlock> kvSide = keyBlocks.flatMapToPair(e -> {
      BlockPlanner.ShardPlan plan = shards.value().get(e._1().docHead());
      List<Tuple2<CellKey, TokenBlock>> out = new ArrayList<>();
      if (plan != null) {
        int kvShard = plan.kvShardOf(e._1().index());
        for (int r = 0; r < plan.qShards(); r++) {
          if (plan.cellNeeded(r, kvShard)) {
            out.add(new Tuple2<>(plan.cell(e._1().docHead(), r, kvShard), e._2()));
          }
        }
      }
      return out.iterator();
    });
    return qSide.cogroup(kvSide, new CellPartitioner(partitions));
  }

  /** Empty partials for Q blocks that no cell serves (no keys, or causal with every key later). */
  private static JavaPairRDD<BlockKey, BlockPartial> emptyPartials(JavaPairRDD<BlockKey, TokenBlock> queryBlocks,
      Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards) {
    return queryBlocks.flatMapToPair(e -> {
      BlockPlanner.ShardPlan plan = shards.value().get(e._1().docHead());
      boolean served = false;
      for (int s = 0; plan != null && s < plan.kvShards() && !served; s++) {
        served = plan.qBlockNeeds(e._1().index(), s);
      }
      TokenBlock q = e._2();
      Iterator<Tuple2<BlockKey, BlockPartial>> none = java.util.Collections.emptyIterator();
      return served ? none : List.of(new Tuple2<>(e._1(), new BlockPartial(q.pos(), Partial.empty(q.rows(), q.dim()))))
          .iterator();
    });
  }

  /** Spreads cells round-robin by their plan-assigned id, so no two cells collide by hash. */
  static final class CellPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int partitions;

    CellPartitioner(int partitions) {
      this.partitions = partitions;
    }

    @Override public int numPartitions() {
      return partitions;
    }

    @Override public int getPartition(Object key) {
      return (int) Math.floorMod(((CellKey) key).id(), (long) partitions);
    }

    @Override public boolean equals(Object o) {
      return o instanceof CellPartitioner && ((CellPartitioner) o).partitions == partitions;
    }

    @Override public int hashCode() {
      return partitions;
    }
  }
}
