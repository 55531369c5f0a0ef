package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
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

  @Test
  void aRingPastTheBudgetIsRefusedBeforeTheJdkCollectsAndWaits() {
    long before = DirectMemory.reserved();
    // no room: null at once (the JDK would have run a full collection and slept first)
    long start = System.nanoTime();
    assertNull(DirectMemory.allocate(8 << 20, before + (4 << 20)));
    assertTrue(System.nanoTime() - start < 100_000_000L, "refused without waiting");
    // room: a buffer, counted in what the JDK reserves until it is freed
    ByteBuffer ring = DirectMemory.allocate(8 << 20, before + (16 << 20));
    assertNotNull(ring);
    assertTrue(DirectMemory.reserved() >= before + (8 << 20));
    DirectMemory.free(ring);
    // the tests' JVM sets no -XX:MaxDirectMemorySize: the JDK's default, the heap's maximum
    assertEquals(Runtime.getRuntime().maxMemory(), DirectMemory.LIMIT);
  }
}
