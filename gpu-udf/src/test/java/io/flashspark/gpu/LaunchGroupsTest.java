package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.QueryBlock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Large calls are cut into launches that fit the staging limit; shared keys are counted once. */
class LaunchGroupsTest {
  private static QueryBlock q(int rows) {
    return new QueryBlock(rows, 4, new float[rows * 4], new long[rows]);
  }

  private static KeyValueBlock kv(int rows) {
    return new KeyValueBlock(rows, 4, new float[rows * 4], new float[rows * 4], new long[rows]);
  }

  @Test
  void groupsRespectTheLimitAndCountSharedKeysOnce() {
    KeyValueBlock shared = kv(100); // 100 * 4 * 8 = 3200 bytes
    List<QueryBlock> queries = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      queries.add(q(10)); // 10 rows * (4 in + 6 out) * 4 bytes + 64 = 464 bytes each
      kvs.add(List.of(shared));
    }
    // all five share the block: 3200 + 5 * 464 = 5520 bytes
    assertEquals(1, GpuBackend.launchGroups(queries, kvs, 4, 5600).size());
    List<int[]> groups = GpuBackend.launchGroups(queries, kvs, 4, 4700); // 3200 + 3 * 464 = 4592
    assertEquals(2, groups.size());
    assertArrayEquals(new int[] {0, 3}, groups.get(0));
    assertArrayEquals(new int[] {3, 5}, groups.get(1));
    assertThrows(GpuException.class, () -> GpuBackend.launchGroups(queries, kvs, 4, 1000));
  }
}
