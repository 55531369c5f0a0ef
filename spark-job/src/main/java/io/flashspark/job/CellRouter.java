package io.flashspark.job;

import io.flashspark.attention.Partial;
import io.flashspark.attention.PackedRows;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Sends each fragment's packed bytes to the cells that need them, once per cell: the query side
 * ({@code q}) to the cells of its Q shard it needs, the key side ({@code kv}) to the cells of its
 * KV shard. Routed rows ({@link #SCHEMA}) carry the partition key of {@link CellPartitions}, so
 * {@code repartition(partitions, part)} puts each cell in the partition the plan gave it (alone,
 * or in a run of small cells).
 */
final class CellRouter {
  static final StructType SCHEMA = DataTypes.createStructType(List.of(
      DataTypes.createStructField("part", DataTypes.IntegerType, false),
      DataTypes.createStructField("cell", DataTypes.LongType, false),
      DataTypes.createStructField("side", DataTypes.IntegerType, false),
      DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, false),
      DataTypes.createStructField(TokenTable.HEAD, DataTypes.IntegerType, false),
      DataTypes.createStructField("block", DataTypes.LongType, false),
      DataTypes.createStructField("data", DataTypes.BinaryType, false)));
  static final int QUERY_SIDE = 0;
  static final int KEY_SIDE = 1;

  /**
   * Shuffle bytes of a routed row beyond its data (Spark's UnsafeRow: null bits, 8 bytes per
   * field, a 4-byte length before each record); the doc id adds its length rounded up to 8.
   */
  static long rowOverhead(String docId) {
    return 8 + 8L * SCHEMA.size() + 4 + ((docId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 7) / 8) * 8;
  }

  private CellRouter() {}

  /** Cells of KV shards that Q block {@code block} of {@code plan} needs. */
  static List<Long> cellsOfQueryBlock(BlockPlanner.ShardPlan plan, DocHead dh, long block) {
    List<Long> cells = new ArrayList<>();
    int qShard = plan.qShardOf(block);
    for (int s = 0; s < plan.kvShards(); s++) {
      if (plan.qBlockNeeds(block, s)) {
        cells.add(plan.cell(dh, qShard, s).id());
      }
    }
    return cells;
  }

  /** Cells of Q shards that need KV block {@code block} of {@code plan}. */
  static List<Long> cellsOfKeyBlock(BlockPlanner.ShardPlan plan, DocHead dh, long block) {
    List<Long> cells = new ArrayList<>();
    int kvShard = plan.kvShardOf(block);
    for (int r = 0; r < plan.qShards(); r++) {
      if (plan.cellNeeded(r, kvShard)) {
        cells.add(plan.cell(dh, r, kvShard).id());
      }
    }
    return cells;
  }

  /**
   * The rows each cell receives, {@code cell id -> {query rows, key rows}}, from the counted blocks
   * of each side: what a cell's task can ready its device for before its blocks arrive.
   */
  static Map<Long, long[]> cellRows(Map<DocHead, BlockPlanner.ShardPlan> shards,
      Map<BlockKey, BlockStats.Block> queryBlocks, Map<BlockKey, BlockStats.Block> keyBlocks) {
    Map<Long, long[]> rows = new java.util.HashMap<>();
    for (Map.Entry<BlockKey, BlockStats.Block> e : queryBlocks.entrySet()) {
      BlockPlanner.ShardPlan p = shards.get(e.getKey().docHead());
      if (p != null && e.getValue().queryBytes() > 0) {
        for (long cell : cellsOfQueryBlock(p, e.getKey().docHead(), e.getKey().index())) {
          rows.computeIfAbsent(cell, c -> new long[2])[0] += e.getValue().rows();
        }
      }
    }
    for (Map.Entry<BlockKey, BlockStats.Block> e : keyBlocks.entrySet()) {
      BlockPlanner.ShardPlan p = shards.get(e.getKey().docHead());
      if (p != null && e.getValue().keyBytes() > 0) {
        for (long cell : cellsOfKeyBlock(p, e.getKey().docHead(), e.getKey().index())) {
          rows.computeIfAbsent(cell, c -> new long[2])[1] += e.getValue().rows();
        }
      }
    }
    return rows;
  }

  /**
   * Whether some query block of {@code queries} is served by no cell: a (doc, head) without keys,
   * or a causal query block before every key. A Q block needs at least the KV shards an earlier
   * one needs, so the first block of each (doc, head) decides.
   */
  static boolean anyUnserved(BlockPlanner.Plan plan, Map<DocHead, DocSummary> queries) {
    for (Map.Entry<DocHead, DocSummary> e : queries.entrySet()) {
      BlockPlanner.ShardPlan p = plan.shards().get(e.getKey());
      if (p == null || cellsOfQueryBlock(p, e.getKey(), e.getValue().minBlock()).isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Fragment rows to routed rows, for the sides asked. A fragment with a problem (a bad row found
   * as it was packed) is not routed; once the partition is read, the task fails with bad input
   * naming the partition's problems (up to 10), so the job stops before any cell runs.
   */
  static final class Route implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards;
    private final long[] partitionStarts; // the plan's (null: one cell per partition)
    private final int[] keys;
    private final boolean querySide;
    private final boolean keySide;
    private final String table;

    Route(Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards, BlockPlanner.Plan plan, int[] keys,
        boolean querySide, boolean keySide, String table) {
      this.shards = shards;
      this.partitionStarts = plan.partitionStarts();
      this.keys = keys;
      this.querySide = querySide;
      this.keySide = keySide;
      this.table = table;
    }

    @Override public Iterator<Row> call(Iterator<Row> fragments) {
      List<String> problems = new ArrayList<>();
      Iterator<Row> routed = new Expanding<>(fragments, f -> {
        DocHead dh = new DocHead(f.getString(0), f.getInt(1));
        long block = f.getLong(2);
        BlockPlanner.ShardPlan plan = shards.value().get(dh);
        List<Row> out = new ArrayList<>();
        if (!f.isNullAt(7)) {
          if (problems.size() < 10) {
            problems.add(f.getString(7));
          }
          return out;
        }
        if (plan == null) {
          return out;
        }
        if (querySide && !f.isNullAt(8)) {
          for (long cell : cellsOfQueryBlock(plan, dh, block)) {
            out.add(routed(cell, QUERY_SIDE, dh, block, (byte[]) f.get(8)));
          }
        }
        if (keySide && !f.isNullAt(9)) {
          for (long cell : cellsOfKeyBlock(plan, dh, block)) {
            out.add(routed(cell, KEY_SIDE, dh, block, (byte[]) f.get(9)));
          }
        }
        return out;
      });
      return new Iterator<>() {
        @Override public boolean hasNext() {
          if (routed.hasNext()) {
            return true;
          }
          if (!problems.isEmpty()) {
            throw InputException.inTask(InputException.invalidRows(table, problems));
          }
          return false;
        }

        @Override public Row next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return routed.next();
        }
      };
    }

    private Row routed(long cell, int side, DocHead dh, long block, byte[] data) {
      int partition = BlockPlanner.Plan.partitionOf(partitionStarts, cell, keys.length);
      return RowFactory.create(keys[partition], cell, side, dh.docId(), dh.head(), block, data);
    }
  }

  /**
   * Empty partials ({@link BlockPartial} rows, final) for query fragments that no cell serves: a
   * (doc, head) without keys, or a causal block before every key.
   */
  static final class Unserved implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards;

    Unserved(Broadcast<Map<DocHead, BlockPlanner.ShardPlan>> shards) {
      this.shards = shards;
    }

    @Override public Iterator<Row> call(Iterator<Row> fragments) {
      return new Expanding<>(fragments, f -> {
        DocHead dh = new DocHead(f.getString(0), f.getInt(1));
        long block = f.getLong(2);
        BlockPlanner.ShardPlan plan = shards.value().get(dh);
        if (f.isNullAt(8) || (plan != null && !cellsOfQueryBlock(plan, dh, block).isEmpty())) {
          return List.of();
        }
        PackedRows q = PackedRows.of((byte[]) f.get(8));
        return List.of(new BlockPartial(q.positions(), Partial.empty(q.rows(), q.dim()))
            .toRow(new BlockKey(dh, block), true));
      });
    }
  }

  /** Flat-maps an iterator lazily, one input at a time. */
  static final class Expanding<A, B> implements Iterator<B> {
    private final Iterator<A> input;
    private final java.util.function.Function<A, List<B>> f;
    private Iterator<B> current = java.util.Collections.emptyIterator();

    Expanding(Iterator<A> input, java.util.function.Function<A, List<B>> f) {
      this.input = input;
      this.f = f;
    }

    @Override public boolean hasNext() {
      while (!current.hasNext() && input.hasNext()) {
        current = f.apply(input.next()).iterator();
      }
      return current.hasNext();
    }

    @Override public B next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      return current.next();
    }
  }
}
