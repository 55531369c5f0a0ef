package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** Plans made for the executors and GPUs there are; GPU jobs refused where Spark gives no GPU. */
class ClusterShapeTest {
  private static Map<DocHead, DocSummary> heads(int heads, long rows, long blockRows) {
    Map<DocHead, DocSummary> m = new java.util.TreeMap<>();
    for (int h = 0; h < heads; h++) {
      DocHead dh = new DocHead("doc", h);
      m.put(dh, new DocSummary(dh, rows, 128, 0, rows / blockRows - 1));
    }
    return m;
  }

  @Test
  void slotsAreCoresOrGpuSharesWhicheverIsFewer() {
    ClusterShape cpu = new ClusterShape(false, 3, 8, 2, 0, 1);
    assertEquals(4, cpu.slotsPerExecutor());
    assertEquals(12, cpu.defaultCells());
    ClusterShape gpus = new ClusterShape(false, 2, 16, 1, 1, 4); // 16 cores, one GPU shared by 4 tasks
    assertEquals(4, gpus.slotsPerExecutor());
    assertEquals(2, gpus.gpus());
    assertEquals(2 * ClusterShape.CELLS_PER_GPU, gpus.defaultCells());
    assertTrue(gpus.description().contains("2 executors x 4 task slots, 1 GPU each (4 tasks per GPU)"),
        gpus.description());
    ClusterShape wide = new ClusterShape(false, 2, 16, 1, 1, 16); // all 16 tasks may share the GPU
    assertEquals(16, wide.slotsPerExecutor());
    assertEquals(2 * ClusterShape.CELLS_PER_GPU, wide.defaultCells());
    ClusterShape local = new ClusterShape(true, 1, 16, 1, 1, 16);
    assertEquals(16, local.slotsPerExecutor());
    assertEquals(ClusterShape.CELLS_PER_GPU, local.defaultCells(), "cells per GPU, not one per core");
    assertEquals(16, new ClusterShape(true, 1, 16, 1, 0, 16).defaultCells(), "CPU backend: one per core");
  }

  /**
   * The 1M-token x 8-head job on one GPU: one cell per head, each with its whole KV (no merge);
   * on two GPUs the same. A single long head on two GPUs: two zigzag Q shards sharing one KV shard;
   * on one GPU, one cell (its K/V shipped once).
   */
  @Test
  void gpuCellsKeepOneKvShardWhereItFits() {
    long taskBytes = 5L << 30;
    BlockPlanner.CellMemory packed = new BlockPlanner.CellMemory(false, 2, 1.0);
    for (ClusterShape shape : List.of(new ClusterShape(true, 1, 16, 1, 1, 16), new ClusterShape(false, 2, 16, 1, 1, 16))) {
      Map<DocHead, DocSummary> doc = heads(8, 1L << 20, 2048);
      BlockPlanner.Plan plan = new BlockPlanner(shape.defaultCells(), Long.MAX_VALUE / 4, taskBytes, packed)
          .plan(doc, doc, true);
      assertEquals(8, plan.neededCells(), plan.description());
      plan.shards().values().forEach(sp -> assertEquals(1, sp.kvShards(), sp.toString()));
    }
    Map<DocHead, DocSummary> one = heads(1, 1L << 20, 2048);
    BlockPlanner.ShardPlan sp = new BlockPlanner(new ClusterShape(false, 2, 1, 1, 1, 1).defaultCells(),
        Long.MAX_VALUE / 4, taskBytes, packed).plan(one, one, true).shards().get(new DocHead("doc", 0));
    assertEquals(2, sp.qShards(), sp.toString());
    assertTrue(sp.zigzag() && sp.kvShards() == 1, sp.toString());
    Map<DocHead, DocSummary> longHead = heads(1, 16L << 20, 2048);
    BlockPlanner.Plan onOneGpu = new BlockPlanner(new ClusterShape(true, 1, 16, 1, 1, 16).defaultCells(),
        Long.MAX_VALUE / 4, 64L << 30, packed).plan(longHead, longHead, true);
    assertEquals(1, onOneGpu.neededCells(), onOneGpu.description());
  }

  @Test
  void gpuBackendOnAClusterNeedsGpuResources() {
    SparkConf none = new SparkConf(false);
    InputException e = assertThrows(InputException.class, () -> BackendCheck.clusterGpus(false, none));
    assertTrue(e.getMessage().contains("spark.executor.resource.gpu.amount (now unset)"), e.getMessage());
    assertDoesNotThrow(() -> BackendCheck.clusterGpus(true, none), "local mode: the driver's GPU");
    SparkConf gpus = new SparkConf(false).set("spark.executor.resource.gpu.amount", "1")
        .set("spark.task.resource.gpu.amount", "0.25");
    assertDoesNotThrow(() -> BackendCheck.clusterGpus(false, gpus));
  }

  @Test
  void anExecutorTaskWithoutAGpuIsRefusedClearly() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> CellTask.requireGpu("gpu", null, false));
    assertTrue(e.getMessage().contains("given no GPU"), e.getMessage());
    assertDoesNotThrow(() -> CellTask.requireGpu("gpu", "GPU-5f2a", false));
    assertDoesNotThrow(() -> CellTask.requireGpu("gpu", null, true));
    assertDoesNotThrow(() -> CellTask.requireGpu("auto", null, false));
    assertDoesNotThrow(() -> CellTask.requireGpu("cpu", null, false));
  }
}
