package io.flashspark.gpu;

import io.flashspark.attention.*;
import java.util.*;

/** Host time of LaunchPlan.build for one 1M-token causal cell: 512 query and 512 key blocks of 2048 rows. */
public class PlanTime {
  public static void main(String[] a) {
    int blocks = 512, rows = 2048, d = 128;
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
    for (int rep = 0; rep < 6; rep++) {
      long t0 = System.nanoTime();
      LaunchPlan p = LaunchPlan.build(q, vis, true, 128);
      System.out.printf("plan: %d tiles in %.1f ms%n", p.numTiles(), (System.nanoTime() - t0) / 1e6);
    }
  }
}
