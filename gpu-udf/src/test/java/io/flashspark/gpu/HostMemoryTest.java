package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostMemoryTest {
  @Test
  void ringsStartOnAPageAndAreFreed() {
    assertTrue(HostMemory.available(), "sun.misc.Unsafe (module jdk.unsupported) is there on Java 17");
    for (long bytes : new long[] {1, 4095, 4096, 3 << 20}) {
      HostMemory.Address ring = HostMemory.allocate(bytes);
      assertEquals(0, ring.address() % 4096, "ring of " + bytes + " bytes at " + ring.address());
      HostMemory.free(ring);
    }
  }
}
