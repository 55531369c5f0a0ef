package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.QueryBlock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Large calls are cut into launches that fit the device-memory limit; shared keys are counted once. */
class LaunchGroupsTest {
  private static QueryBlock q(int rows) {
    return new QueryBlock(rows, 4, new float[rows * 4], new long[rows]);
  }

  private static KeyValueBlock kv(int rows) {
    return new KeyValueBlock(rows, 4, new float[rows * 4], new float[rows * 4], new long[rows]);
  }

  @Test
  void groupsRespectTheLimitAndCountSharedKeysOnce() {
    KeyValueBlock shared = kv(100); // K and V in 16 bits: 100 * 4 * 4 = 1600 bytes
    List<QueryBlock> queries = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      queries.add(q(10)); // 10 rows * (4 * 2 in + 6 * 4 out + 4 limit) bytes + 64 = 424 bytes each
      kvs.add(List.of(shared));
    }
    // all five share the block: 1600 + 5 * 424 = 3720 bytes
    assertEquals(1, GpuBackend.launchGroups(queries, kvs, 4, 3720).size());
    List<int[]> groups = GpuBackend.launchGroups(queries, kvs, 4, 2900); // 1600 + 3 * 424 = 2872
    assertEquals(2, groups.size());
    assertArrayEquals(new int[] {0, 3}, groups.get(0));
    assertArrayEquals(new int[] {3, 5}, groups.get(1));
    assertThrows(GpuException.class, () -> GpuBackend.launchGroups(queries, kvs, 4, 1000));
  }
}
