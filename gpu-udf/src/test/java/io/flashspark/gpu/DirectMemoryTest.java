package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class DirectMemoryTest {
  @Test
  void aRingIsZeroedDirectMemoryAndItsViewsSeeWhatItHolds() {
    ByteBuffer ring = DirectMemory.allocate(3 << 20);
    assertNotNull(ring);
    assertTrue(ring.isDirect());
    assertEquals(3 << 20, ring.capacity());
    for (int i = 0; i < ring.capacity(); i += 4093) {
      assertEquals(0, ring.get(i), "byte " + i);
    }
    ring.put(1 << 20, (byte) 7);
    assertEquals(7, ring.slice(0, 2 << 20).get(1 << 20)); // what GpuDevice hands out
    DirectMemory.free(ring);
  }
}
