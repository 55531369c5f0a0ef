package io.flashspark.attention.bench;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.Partial;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.TiledAttention;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU forward in ms per call: the tiled kernel (one thread, and all cores) against the naive
 * fp32 attention that materialises S, same inputs, same JVM. GFLOP/s = 4·N·M·d / time (halve for
 * causal). Setup checks that the variants agree before anything is timed.
 * Run: {@code tools/jmh.sh CpuAttentionBench} (SIMD inner loops; add
 * {@code -jvmArgsAppend -Dflashspark.cpu.scalar=true} for the plain-loop fallback), see
 * docs/benchmarks.md. Setup prints which inner loops the forked JVM runs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CpuAttentionBench {
  @Param({"1024", "2048"})
  int n;

  @Param({"64", "128"})
  int d;

  @Param({"false"})
  boolean causal;

  QueryBlock q;
  KeyValueBlock kv;
  AttentionSpec spec;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(42);
    long[] pos = new long[n];
    for (int i = 0; i < n; i++) {
      pos[i] = i;
    }
    q = new QueryBlock(n, d, random(rnd, n * d), pos);
    kv = new KeyValueBlock(n, d, random(rnd, n * d), random(rnd, n * d), pos);
    spec = AttentionSpec.defaults().withCausal(causal);
    System.out.println("inner loops: " + TiledAttention.innerLoops());
    Partial tiled = TiledAttention.forward(q, List.of(kv), spec);
    Partial parallel = TiledAttention.forwardParallel(q, List.of(kv), spec);
    Partial naive = NaiveAttention.forward(q, kv, spec);
    for (int i = 0; i < n * d; i++) {
      // the Vector API's exp differs in the last bits between interpreted and compiled code
      if (Math.abs(tiled.o()[i] - naive.o()[i]) > 1e-4 || Math.abs(tiled.o()[i] - parallel.o()[i]) > 1e-6) {
        throw new IllegalStateException("variants disagree at " + i + ": " + tiled.o()[i] + " " + naive.o()[i]);
      }
    }
  }

  private static float[] random(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (rnd.nextDouble() * 2 - 1);
    }
    return x;
  }

  @Benchmark
  public Partial tiledOneThread() {
    return TiledAttention.forward(q, List.of(kv), spec);
  }

  @Benchmark
  public Partial tiledAllCores() {
    return TiledAttention.forwardParallel(q, List.of(kv), spec);
  }

  @Benchmark
  public Partial naiveMaterialisedS() {
    return NaiveAttention.forward(q, kv, spec);
  }
}
