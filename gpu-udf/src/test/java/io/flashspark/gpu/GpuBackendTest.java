package io.flashspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Gaussian;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.NaiveLowPrecision;
import io.flashspark.attention.Partial;
import io.flashspark.attention.Precision;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.ReferenceAttention;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The GPU backend against the float64 reference, with the FlashAttention rule: the kernel's max
 * error is at most twice that of a naive attention computed at the same input precision (plus
 * 1e-5 for rows whose naive error happens to be tiny). Skipped, with the reason, where no GPU is
 * usable; on a GPU host: {@code mvn -pl gpu-udf test -Dtest=GpuBackendTest} (see README).
 * Outputs are poisoned with NaN before every launch ({@link GpuBackend#poisoningOutputs}).
 */
class GpuBackendTest {
  private static GpuBackend gpu;

  @BeforeAll
  static void openGpu() {
    GpuBackend usable = GpuBackend.getIfUsable(-1);
    gpu = usable == null ? null : usable.poisoningOutputs();
  }

  @BeforeEach
  void needsGpu() {
    assumeTrue(gpu != null, "SKIPPED: no usable GPU here (" + GpuBackend.whyUnusable(GpuBackend.defaultOrdinal())
        + "); run on a GPU host, see README");
  }

  private static float[] randn(SplittableRandom rnd, int n) {
    return Gaussian.floats(rnd, n, 1);
  }

  private static long[] positions(long start, int n) {
    long[] pos = new long[n];
    for (int i = 0; i < n; i++) {
      pos[i] = start + i;
    }
    return pos;
  }

  /** Max |x - ref| over o (all elements) and lse (finite rows); empty rows must match exactly. */
  private static double[] errors(Partial p, ReferenceAttention.Result ref) {
    double o = 0;
    double lse = 0;
    for (int r = 0; r < p.rows(); r++) {
      if (Double.isInfinite(ref.lse()[r])) {
        assertTrue(p.isEmptyRow(r), "row " + r + " sees no key but is not empty");
        continue;
      }
      lse = Math.max(lse, Math.abs(p.lse(r) - ref.lse()[r]));
      float[] row = p.outputRow(r);
      for (int c = 0; c < p.dim(); c++) {
        double e = Math.abs(row[c] - ref.o(r, c));
        o = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(o, e);
      }
    }
    return new double[] {o, Double.isNaN(lse) ? Double.POSITIVE_INFINITY : lse};
  }

  @ParameterizedTest(name = "{4} n={0} m={1} d={2} causal={3}")
  @CsvSource({
      "1, 1, 64, false, BF16", "97, 97, 64, true, BF16", "1025, 1025, 128, false, BF16", "1025, 1025, 128, true, FP16",
      "4097, 4097, 64, true, FP16", "4097, 4097, 128, true, BF16", "97, 1025, 128, false, FP16",
      "1025, 97, 64, true, BF16", "4097, 1, 128, false, BF16", "1, 4097, 128, true, FP16"})
  void matchesReferenceWithinTwiceNaiveError(int n, int m, int d, boolean causal, Precision precision) {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("GpuBackendTest");
    // queries sit at the end of the keys so causal rows see between 1 and m keys
    QueryBlock q = new QueryBlock(n, d, randn(rnd, n * d), positions(Math.max(0, m - n), n));
    KeyValueBlock kv = new KeyValueBlock(m, d, randn(rnd, m * d), randn(rnd, m * d), positions(0, m));
    AttentionSpec spec = new AttentionSpec(Double.NaN, causal, precision);
    Partial got = gpu.attend(List.of(q), List.of(List.of(kv)), spec).get(0);
    ReferenceAttention.Result ref = ReferenceAttention.forward(q, List.of(kv), spec);
    double[] ours = errors(got, ref);
    double[] naive = errors(NaiveLowPrecision.forward(q, List.of(kv), spec), ref);
    String msg = String.format("errors o %.3g lse %.3g; naive %s o %.3g lse %.3g", ours[0], ours[1], precision,
        naive[0], naive[1]);
    assertTrue(ours[0] <= 2 * naive[0] + 1e-5, msg);
    assertTrue(ours[1] <= 2 * naive[1] + 1e-5, msg);
    System.out.println("gpu " + precision + " n=" + n + " m=" + m + " d=" + d + " causal=" + causal + ": " + msg);
  }

  /**
   * Inputs packed in the launch's precision are staged byte for byte (no fp32 staging, no device
   * conversion): the result must equal, bit for bit, the fp32 path on the same rounded values.
   */
  @ParameterizedTest(name = "{0} causal={1}")
  @CsvSource({"BF16, true", "FP16, false"})
  void packedInputsGiveTheSameBitsAsTheFloatPath(Precision precision, boolean causal) {
    assertTrue(gpu.poisonsOutputs());
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("GpuBackendTest");
    int n = 1500;
    int d = 128;
    io.flashspark.attention.PackedRows.Writer qw = new io.flashspark.attention.PackedRows.Writer(d, precision, 1);
    io.flashspark.attention.PackedRows.Writer kw = new io.flashspark.attention.PackedRows.Writer(d, precision, 2);
    for (int i = 0; i < n; i++) {
      qw.addFloats(3 * i, new float[][] {randn(rnd, d)}); // sparse positions
      kw.addFloats(3 * i, new float[][] {randn(rnd, d), randn(rnd, d)});
    }
    io.flashspark.attention.PackedRows qp = io.flashspark.attention.PackedRows.of(qw.finish());
    io.flashspark.attention.PackedRows kp = io.flashspark.attention.PackedRows.of(kw.finish());
    QueryBlock packedQ = qp.queryBlock();
    KeyValueBlock packedKv = kp.keyValueBlock();
    QueryBlock floatQ = new QueryBlock(n, d, packedQ.q(), packedQ.pos());
    KeyValueBlock floatKv = new KeyValueBlock(n, d, packedKv.k(), packedKv.v(), packedKv.pos());
    AttentionSpec spec = new AttentionSpec(Double.NaN, causal, precision);
    Partial direct = gpu.attend(List.of(packedQ), List.of(List.of(packedKv)), spec).get(0);
    Partial staged = gpu.attend(List.of(floatQ), List.of(List.of(floatKv)), spec).get(0);
    assertArrayEquals(staged.o(), direct.o());
    assertArrayEquals(staged.m(), direct.m());
    assertArrayEquals(staged.l(), direct.l());
    double[] ours = errors(direct, ReferenceAttention.forward(floatQ, List.of(floatKv), spec));
    assertTrue(ours[0] < 1e-2 && ours[1] < 1e-2, "errors " + ours[0] + " " + ours[1]);
  }

  @Test
  void manyProblemsPerLaunchWithGapsAndEmptyRows() {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("GpuBackendTest");
    int d = 64;
    List<QueryBlock> queries = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    for (int h = 0; h < 6; h++) {
      int n = 50 + rnd.nextInt(300);
      long[] qPos = positions(200 + rnd.nextInt(200), n);
      if (h % 2 == 1) {
        qPos[n / 2] += 0; // keep sorted; gaps below
        for (int i = n / 2; i < n; i++) {
          qPos[i] += 13; // a gap in the query positions
        }
      }
      queries.add(new QueryBlock(n, d, randn(rnd, n * d), qPos));
      List<KeyValueBlock> list = new ArrayList<>();
      long p = 0;
      for (int b = 0; b < 3; b++) {
        int m = 1 + rnd.nextInt(200);
        list.add(new KeyValueBlock(m, d, randn(rnd, m * d), randn(rnd, m * d), positions(p, m)));
        p += m + (h == 3 ? 40 : 0); // keys with gaps for one problem
      }
      kvs.add(list);
    }
    // a problem whose keys all lie after its queries: every row empty
    queries.add(new QueryBlock(10, d, randn(rnd, 10 * d), positions(0, 10)));
    kvs.add(List.of(new KeyValueBlock(20, d, randn(rnd, 20 * d), randn(rnd, 20 * d), positions(100, 20))));
    AttentionSpec spec = new AttentionSpec(0.1, true, Precision.BF16);
    List<Partial> got = gpu.attend(queries, kvs, spec);
    for (int i = 0; i < queries.size(); i++) {
      ReferenceAttention.Result ref = ReferenceAttention.forward(queries.get(i), kvs.get(i), spec);
      double[] ours = errors(got.get(i), ref);
      double[] naive = errors(NaiveLowPrecision.forward(queries.get(i), kvs.get(i), spec), ref);
      assertTrue(ours[0] <= 2 * naive[0] + 1e-5 && ours[1] <= 2 * naive[1] + 1e-5,
          "problem " + i + ": " + ours[0] + " vs naive " + naive[0]);
    }
    for (int r = 0; r < 10; r++) {
      assertTrue(got.get(queries.size() - 1).isEmptyRow(r));
      assertEquals(Double.NEGATIVE_INFINITY, got.get(queries.size() - 1).lse(r));
    }
  }

  /**
   * Streaming through tiny pinned slots (every copy straddles slots, every output piece is a few
   * rows) and many query chunks must not change a bit of the results, packed or converted inputs,
   * nor must handing the partials over chunk by chunk.
   */
  @ParameterizedTest(name = "packed={0}")
  @CsvSource({"true", "false"})
  void stagingInSmallSlotsAndManyChunksChangesNoBit(boolean packed) {
    SplittableRandom rnd = io.flashspark.attention.Seeds.fresh("GpuBackendTest");
    int d = 128;
    List<QueryBlock> queries = new ArrayList<>();
    List<KeyValueBlock> blocks = new ArrayList<>();
    List<List<KeyValueBlock>> kvs = new ArrayList<>();
    long pos = 0;
    for (int b = 0; b < 8; b++) {
      int n = 300 + rnd.nextInt(900);
      io.flashspark.attention.PackedRows.Writer qw = new io.flashspark.attention.PackedRows.Writer(d, Precision.BF16, 1);
      io.flashspark.attention.PackedRows.Writer kw = new io.flashspark.attention.PackedRows.Writer(d, Precision.BF16, 2);
      for (int i = 0; i < n; i++) {
        qw.addFloats(pos + i, new float[][] {randn(rnd, d)});
        kw.addFloats(pos + i, new float[][] {randn(rnd, d), randn(rnd, d)});
      }
      pos += n + rnd.nextInt(3);
      QueryBlock q = io.flashspark.attention.PackedRows.of(qw.finish()).queryBlock();
      KeyValueBlock kv = io.flashspark.attention.PackedRows.of(kw.finish()).keyValueBlock();
      queries.add(packed ? q : new QueryBlock(q.rows(), d, q.q(), q.pos()));
      blocks.add(packed ? kv : new KeyValueBlock(kv.rows(), d, kv.k(), kv.v(), kv.pos()));
      kvs.add(new ArrayList<>(blocks)); // block b sees blocks 0..b
    }
    AttentionSpec spec = new AttentionSpec(Double.NaN, true, Precision.BF16);
    List<Partial> whole = gpu.attend(queries, kvs, spec);
    List<Partial> streamed = gpu.staging(4096, 64 << 10).attend(queries, kvs, spec);
    // handed over chunk by chunk: each block once, in query order, the same bits
    List<Integer> order = new ArrayList<>();
    Partial[] sunk = new Partial[queries.size()];
    gpu.staging(4096, 64 << 10).attend(queries, kvs, spec, (i, p) -> {
      order.add(i);
      sunk[i] = p;
    });
    assertEquals(java.util.stream.IntStream.range(0, queries.size()).boxed().toList(), order);
    // readied ahead (prepare): the launch takes the reserved stream and buffers; a reservation of
    // another size leaves the launch to allocate its own; a second call finds none left
    long qRows = queries.stream().mapToLong(QueryBlock::rows).sum();
    long kRows = blocks.stream().mapToLong(KeyValueBlock::rows).sum();
    List<Partial> ready;
    List<Partial> again;
    List<Partial> missized;
    try (io.flashspark.attention.AttentionBackend.Prepared p = gpu.prepare(d, qRows, kRows, spec)) {
      ready = gpu.attend(queries, kvs, spec);
      again = gpu.attend(queries, kvs, spec);
    }
    try (io.flashspark.attention.AttentionBackend.Prepared p = gpu.prepare(d, 7, 5, spec)) {
      missized = gpu.attend(queries, kvs, spec);
    }
    for (int i = 0; i < queries.size(); i++) {
      for (Partial p : List.of(streamed.get(i), sunk[i], ready.get(i), again.get(i), missized.get(i))) {
        assertArrayEquals(whole.get(i).o(), p.o(), "block " + i);
        assertArrayEquals(whole.get(i).m(), p.m(), "block " + i);
        assertArrayEquals(whole.get(i).l(), p.l(), "block " + i);
      }
    }
    ReferenceAttention.Result ref = ReferenceAttention.forward(queries.get(7), kvs.get(7), spec);
    double[] ours = errors(streamed.get(7), ref);
    double[] naive = errors(NaiveLowPrecision.forward(queries.get(7), kvs.get(7), spec), ref);
    assertTrue(ours[0] <= 2 * naive[0] + 1e-5 && ours[1] <= 2 * naive[1] + 1e-5, ours[0] + " vs naive " + naive[0]);
  }

  @Test
  void supportsWhatWasBuilt() {
    assertTrue(gpu.supports(64, Precision.BF16) && gpu.supports(128, Precision.FP16) && gpu.supports(128, null));
    assertTrue(!gpu.supports(128, Precision.FP32) && !gpu.supports(96, Precision.BF16));
  }

  @Test
  void fp32InputsAreRefusedWithAClearMessage() {
    QueryBlock q = new QueryBlock(1, 64, new float[64], new long[1]);
    KeyValueBlock kv = new KeyValueBlock(1, 64, new float[64], new float[64], new long[1]);
    GpuException e = assertThrows(GpuException.class,
        () -> gpu.attend(List.of(q), List.of(List.of(kv)), AttentionSpec.defaults()));
    assertTrue(e.getMessage().contains("bf16"), e.getMessage());
  }
}
