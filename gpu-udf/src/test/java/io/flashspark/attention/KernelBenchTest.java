package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** bench's warm-up: long enough for the JIT on a small size, one call where a call is slow. */
class KernelBenchTest {
  @Test
  void aFastCallIsRepeatedForTheWholeWarmUp() {
    long start = System.nanoTime();
    int calls = KernelBench.warmUp(() -> { });
    assertTrue(System.nanoTime() - start >= KernelBench.WARM_UP_NANOS, "warmed up for the minimum time");
    assertTrue(calls > 1000, calls + " calls");
  }

  @Test
  void aSlowCallRunsOnceBesideTheCheckingCall() {
    int calls = KernelBench.warmUp(() -> {
      try {
        Thread.sleep(KernelBench.WARM_UP_NANOS / 1_000_000 + 50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertEquals(KernelBench.WARM_UP_CALLS - 1, calls);
  }
}
