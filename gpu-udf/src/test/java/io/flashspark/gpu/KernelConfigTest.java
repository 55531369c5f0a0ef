package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The launch values the Java side takes from the generated kernels.properties, per GPU generation:
 * the sm_90a cubin's warp-specialised loop needs 384 threads and more shared memory than the mma.sync
 * loop that runs everywhere else (launching that one with 384 threads would cap its registers and
 * spill). Needs no GPU; skipped only where the build had no nvcc (no properties in the jar).
 */
class KernelConfigTest {
  private static final int HOPPER = 9;
  private static final int AMPERE = 8;
  private static final int BLACKWELL = 10;  // runs the compute_90 PTX, i.e. the mma.sync loop
  private static final int MAX_OPT_IN_SMEM_SM90 = 232448;
  private static final int MAX_OPT_IN_SMEM_A100 = 166912;

  private KernelConfig config;

  @BeforeEach
  void load() {
    assumeTrue(KernelConfig.class.getResource(KernelConfig.RESOURCE_DIR + "kernels.properties") != null,
        "kernels.properties not built (no nvcc on the build machine)");
    config = KernelConfig.load();
  }

  @Test
  void forwardKernelsLaunchByGeneration() {
    for (String dtype : new String[] {"bf16", "fp16"}) {
      for (int d : new int[] {64, 128}) {
        for (String suffix : new String[] {"", "_causal"}) {
          String k = "flashspark_fwd_" + dtype + "_d" + d + suffix;
          assertEquals(384, config.forDevice(k, "threads", HOPPER), k);
          assertEquals(256, config.forDevice(k, "threads", AMPERE), k);
          assertEquals(256, config.forDevice(k, "threads", BLACKWELL), k);
          assertEquals(128, config.forDevice(k, "block_m", HOPPER), k);
          assertEquals(128, config.forDevice(k, "block_m", AMPERE), k);
          int hopperSmem = config.forDevice(k, "smem_bytes", HOPPER);
          int otherSmem = config.forDevice(k, "smem_bytes", AMPERE);
          // Q (128 rows) + two K and two V stages of 128 keys, + 1 KiB alignment slack
          assertEquals(2 * d * 128 + 4 * 128 * d * 2 + 1024, hopperSmem, k);
          // Q + two K and two V stages of 64 keys (the mma.sync loop)
          assertEquals(2 * d * (128 + 4 * 64), otherSmem, k);
          assertTrue(hopperSmem <= MAX_OPT_IN_SMEM_SM90 && otherSmem <= MAX_OPT_IN_SMEM_A100, k);
          // the sm_90a loop walks tiles (a grid of resident CTAs); the mma.sync loop takes one tile per CTA
          assertEquals(1, config.forDevice(k, "persistent", HOPPER), k);
          assertEquals(0, config.forDevice(k, "persistent", AMPERE), k);
          assertEquals(0, config.forDevice(k, "persistent", BLACKWELL), k);
        }
      }
    }
  }

  @Test
  void kernelsWithoutFallbackTakeTheirOneValue() {
    assertEquals(128, config.forDevice("flashspark_list_attention", "threads", HOPPER));
    assertEquals(128, config.forDevice("flashspark_list_attention", "threads", AMPERE));
    assertEquals(256, config.forDevice("flashspark_f32_to_bf16", "threads", AMPERE));
  }
}
