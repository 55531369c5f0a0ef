package io.flashspark.attention;

import java.util.SplittableRandom;

/**
 * Random generators for tests and benchmarks whose seed is printed, so a failure can be replayed:
 * {@code -Dflashspark.test.seed=S} (e.g. {@code mvn verify -Dflashspark.test.seed=S}) makes every
 * generator start from S.
 */
public final class Seeds {
  /** The system property that replays a seed. */
  public static final String PROPERTY = "flashspark.test.seed";

  private Seeds() {}

  /** A generator for {@code what}, seeded from {@value #PROPERTY} or at random; prints its seed. */
  public static SplittableRandom fresh(String what) {
    String replay = System.getProperty(PROPERTY);
    long seed = replay != null && !replay.isBlank() ? Long.parseLong(replay.trim())
        : new SplittableRandom().nextLong();
    System.out.println("random seed for " + what + ": " + seed + " (replay with -D" + PROPERTY + "=" + seed + ")");
    return new SplittableRandom(seed);
  }
}
