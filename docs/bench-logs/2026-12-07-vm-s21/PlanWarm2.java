package io.flashspark.gpu;

import io.flashspark.attention.*;
import java.util.*;

/** The first 1M-row causal plan's host time, after a small plan built first (args[0] blocks; 0: none). */
public class PlanWarm2 {
  static LaunchPlan plan(int blocks) {
    int rows = 2048, d = 128;
    List<QueryBlock> q = new ArrayList<>();
    List<KeyValueBlock> kv = new ArrayList<>();
    float[] dummy = new float[rows * d];
    for (int b = 0; b < blocks; b++) {
      long[] pos = new long[rows];
      for (int r = 0; r < rows; r++) pos[r] = (long) b * rows + r;
      q.add(new QueryBlock(rows, d, dummy, pos));
      kv.add(new KeyValueBlock(rows, d, dummy, dummy, pos));
    }
    List<List<KeyValueBlock>> vis = new ArrayList<>();
    for (int b = 0; b < blocks; b++) vis.add(kv.subList(0, b + 1));
    return LaunchPlan.build(q, vis, true, 128);
  }

  public static void main(String[] a) {
    int warm = Integer.parseInt(a[0]);
    long t0 = System.nanoTime();
    int times = a.length > 1 ? Integer.parseInt(a[1]) : 1;
    for (int i = 0; warm > 0 && i < times; i++) plan(warm);
    long t1 = System.nanoTime();
    LaunchPlan p = plan(512);
    long t2 = System.nanoTime();
    System.out.printf("warm-up plan of %d blocks %.1f ms; then the 512-block plan %.1f ms (%d tiles)%n", warm, (t1 - t0) / 1e6, (t2 - t1) / 1e6, p.numTiles());
  }
}
