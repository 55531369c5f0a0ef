package io.flashspark.job;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Backends;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.Partial;
import io.flashspark.attention.QueryBlock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * The executor's work for one cell: every Q block of the cell against every KV block of the cell
 * it can see, in one backend call (the kernel sweeps all local KV blocks, so partials of one Q
 * block are merged on the executor before anything leaves it). A pure function of its inputs,
 * so Spark may retry or speculate it.
 */
public final class CellTask {
  private CellTask() {}

  public static Iterator<Tuple2<BlockKey, BlockPartial>> compute(Iterable<TokenBlock> queryBlocks,
      Iterable<TokenBlock> kvBlocks, String backendName, AttentionSpec spec, CollectionAccumulator<String> used,
      LongAccumulator kernelNanos, LongAccumulator pairsDone) {
    failIfAsked();
    List<TokenBlock> qs = new ArrayList<>();
    queryBlocks.forEach(qs::add);
    if (qs.isEmpty()) {
      return java.util.Collections.emptyIterator();
    }
    List<TokenBlock> kvs = new ArrayList<>();
    kvBlocks.forEach(kvs::add);
    kvs.sort(Comparator.comparingLong(b -> b.key().index()));

    // one KeyValueBlock object per KV block, shared by every query's list: the backends stage
    // (GPU) or transpose (CPU) each distinct block once per call
    List<KeyValueBlock> keyValues = new ArrayList<>(kvs.size());
    for (TokenBlock kv : kvs) {
      keyValues.add(kv.keyValueBlock());
    }
    List<QueryBlock> queries = new ArrayList<>(qs.size());
    List<List<KeyValueBlock>> visible = new ArrayList<>(qs.size());
    long[] pairs = new long[qs.size()];
    for (int i = 0; i < qs.size(); i++) {
      TokenBlock q = qs.get(i);
      queries.add(q.queryBlock());
      List<KeyValueBlock> seen = new ArrayList<>();
      for (int j = 0; j < kvs.size(); j++) {
        if (!spec.causal() || kvs.get(j).minPos() <= q.maxPos()) {
          seen.add(keyValues.get(j));
          pairs[i] += (long) q.rows() * kvs.get(j).rows();
        }
      }
      visible.add(seen);
    }
    AttentionBackend backend = Backends.forName(backendName, taskGpu());
    if (backendName.equals("auto") && !backend.supports(qs.get(0).dim(), spec.precision())) {
      backend = Backends.forName("cpu"); // e.g. fp32 asked for, or a head dimension without GPU kernel
    }
    AttentionSpec resolved = ScoreOptions.resolvePrecision(spec, backend);
    // calls of about pairsPerCall pairs each (whole Q blocks), so progress reaches the driver
    // while a long cell computes (accumulators travel with executor heartbeats)
    long perCall = backend.pairsPerCall(qs.get(0).dim());
    List<Partial> partials = new ArrayList<>(qs.size());
    long nanos = 0;
    for (int from = 0; from < qs.size(); ) {
      int to = from;
      long callPairs = 0;
      while (to < qs.size() && (to == from || callPairs + pairs[to] <= perCall)) {
        callPairs += pairs[to++];
      }
      partials.addAll(backend.attend(queries.subList(from, to), visible.subList(from, to), resolved));
      nanos += backend.lastKernelNanos();
      if (pairsDone != null) {
        pairsDone.add(callPairs);
      }
      from = to;
    }
    if (used != null) {
      used.add(backend.name() + " " + resolved.precision().label());
    }
    if (kernelNanos != null) {
      kernelNanos.add(nanos);
    }
    List<Tuple2<BlockKey, BlockPartial>> out = new ArrayList<>(qs.size());
    for (int i = 0; i < qs.size(); i++) {
      out.add(new Tuple2<>(qs.get(i).key(), new BlockPartial(qs.get(i).pos(), partials.get(i))));
    }
    return out.iterator();
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

  /** The GPU Spark assigned to this task (spark.task.resource.gpu.amount), or -1 for the default. */
  static int taskGpu() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return -1;
    }
    scala.Option<ResourceInformation> gpu = task.resources().get("gpu");
    if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
      return -1;
    }
    return Integer.parseInt(gpu.get().addresses()[0].trim());
  }
}
