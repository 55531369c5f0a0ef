package io.flashspark.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The packed block layout: round trips, sorting, fragments merged in any order, duplicates refused. */
class PackedRowsTest {
  @ParameterizedTest
  @EnumSource(Precision.class)
  void fragmentsInAnyOrderAssembleIntoTheSortedBlock(Precision encoding) {
    SplittableRandom rnd = Seeds.fresh("PackedRowsTest");
    int rows = 300;
    int dim = 8;
    long[] pos = new long[rows];
    float[][] k = new float[rows][];
    float[][] v = new float[rows][];
    for (int i = 0; i < rows; i++) {
      pos[i] = 1000 + 2L * i + (i % 2); // sparse, strictly ascending
      k[i] = Gaussian.floats(rnd, dim, 1);
      v[i] = Gaussian.floats(rnd, dim, 1);
    }
    // three fragments, rows dealt out at random and given to each writer shuffled
    List<PackedRows.Writer> writers = List.of(new PackedRows.Writer(dim, encoding, 2),
        new PackedRows.Writer(dim, encoding, 2), new PackedRows.Writer(dim, encoding, 2));
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      order.add(i);
    }
    java.util.Collections.shuffle(order, new java.util.Random(rnd.nextLong()));
    for (int i : order) {
      writers.get(rnd.nextInt(3)).addFloats(pos[i], new float[][] {k[i], v[i]});
    }
    List<PackedRows> fragments = new ArrayList<>();
    for (PackedRows.Writer w : writers) {
      fragments.add(PackedRows.of(w.finish()));
    }
    PackedRows block = PackedRows.concat(fragments);
    assertEquals(rows, block.rows());
    assertEquals(PackedRows.size(rows, dim, encoding, 2), block.bytes().length);
    assertArrayEquals(pos, block.positions());
    KeyValueBlock kv = block.keyValueBlock();
    for (int i = 0; i < rows; i++) {
      for (int c = 0; c < dim; c++) {
        assertEquals(encoding.round(k[i][c]), kv.k()[i * dim + c]);
        assertEquals(encoding.round(v[i][c]), kv.v()[i * dim + c]);
      }
    }
    assertTrue(kv.packed() == block);
  }

  @Test
  void disjointFragmentsAreJoinedWhole() {
    PackedRows.Writer a = new PackedRows.Writer(4, Precision.BF16, 1);
    PackedRows.Writer b = new PackedRows.Writer(4, Precision.BF16, 1);
    for (int i = 0; i < 10; i++) {
      (i < 5 ? b : a).addFloats(i < 5 ? i : i + 100, new float[][] {{i, -i, 0.5f * i, 1}});
    }
    PackedRows block = PackedRows.concat(List.of(PackedRows.of(a.finish()), PackedRows.of(b.finish())));
    assertArrayEquals(new long[] {0, 1, 2, 3, 4, 105, 106, 107, 108, 109}, block.positions());
    assertEquals(7f, block.queryBlock().q()[7 * 4]); // row 7 (pos 107) holds i = 7
  }

  @Test
  void duplicatePositionsAreRefusedWithinAndAcrossFragments() {
    PackedRows.Writer w = new PackedRows.Writer(2, Precision.FP32, 1);
    w.addFloats(5, new float[][] {{1, 2}});
    w.addFloats(3, new float[][] {{1, 2}});
    w.addFloats(5, new float[][] {{3, 4}});
    assertTrue(assertThrows(IllegalArgumentException.class, w::finish).getMessage().contains("duplicate position 5"));
    PackedRows.Writer x = new PackedRows.Writer(2, Precision.FP32, 1);
    x.addFloats(1, new float[][] {{1, 2}});
    x.addFloats(9, new float[][] {{1, 2}});
    PackedRows.Writer y = new PackedRows.Writer(2, Precision.FP32, 1);
    y.addFloats(4, new float[][] {{1, 2}});
    y.addFloats(9, new float[][] {{1, 2}});
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> PackedRows.concat(List.of(PackedRows.of(x.finish()), PackedRows.of(y.finish())))).getMessage()
        .contains("duplicate position 9"));
  }

  @Test
  void rowsCopiedInPlaceAndFinishedIntoAnotherArrayPackTheSameBytes() {
    SplittableRandom rnd = Seeds.fresh("PackedRowsTest");
    int dim = 5;
    int width = dim * 2;
    PackedRows.Writer fromArrays = new PackedRows.Writer(dim, Precision.BF16, 2);
    PackedRows.Writer inPlace = new PackedRows.Writer(dim, Precision.BF16, 2);
    byte[] source = new byte[100 * 2 * width + 3]; // both vectors of every row in one array, at an odd offset
    rnd.nextBytes(source);
    for (int r = 0; r < 100; r++) {
      long pos = (r * 37L) % 101; // unsorted, distinct
      int at = 3 + r * 2 * width;
      fromArrays.addEncoded(pos, new byte[][] {java.util.Arrays.copyOfRange(source, at, at + width),
          java.util.Arrays.copyOfRange(source, at + width, at + 2 * width)});
      inPlace.addEncoded(pos, (i, dst, offset, length) -> System.arraycopy(source, at + i * width, dst, offset, length));
    }
    byte[] expected = fromArrays.finish();
    byte[] into = new byte[expected.length + 11];
    java.util.Arrays.fill(into, (byte) 0x5a);
    inPlace.finishInto(into, 7);
    assertArrayEquals(expected, java.util.Arrays.copyOfRange(into, 7, 7 + expected.length));
    for (int i : new int[] {0, 1, 2, 3, 4, 5, 6, into.length - 4, into.length - 1}) {
      assertEquals((byte) 0x5a, into[i], "byte " + i + " outside the packed rows");
    }
    PackedRows.Writer twice = new PackedRows.Writer(1, Precision.FP16, 1);
    twice.addEncoded(4, new byte[][] {{1, 2}});
    twice.addEncoded(4, new byte[][] {{3, 4}});
    byte[] untouched = new byte[(int) twice.bytes()];
    assertThrows(IllegalArgumentException.class, () -> twice.finishInto(untouched, 0));
    assertArrayEquals(new byte[untouched.length], untouched, "nothing written before a duplicate is found");
  }

  @Test
  void blocksCheckTheirPackedFormsShapeWithoutWideningIt() {
    PackedRows.Writer w = new PackedRows.Writer(4, Precision.BF16, 2);
    for (int i = 0; i < 3; i++) {
      w.addFloats(i, new float[][] {{1, 2, 3, 4}, {5, 6, 7, 8}});
    }
    PackedRows rows = PackedRows.of(w.finish());
    KeyValueBlock kv = new KeyValueBlock(3, 4, null, null, new long[] {0, 1, 2}, rows);
    assertEquals(3, kv.rows());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new KeyValueBlock(4, 4, null, null, new long[] {0, 1, 2, 3}, rows));
    assertTrue(e.getMessage().contains("packed rows of 3 x 4 but the block is 4 x 4"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new QueryBlock(3, 4, new float[11], new long[] {0, 1, 2}));
    assertThrows(IllegalArgumentException.class, () -> new QueryBlock(3, 4, new float[12], new long[] {0, 1}));
    assertThrows(IllegalArgumentException.class, () -> new QueryBlock(3, 4, null, new long[] {0, 1, 2}, null));
  }

  @Test
  void aTruncatedValueIsRefused() {
    PackedRows.Writer w = new PackedRows.Writer(2, Precision.BF16, 1);
    w.addFloats(1, new float[][] {{1, 2}});
    byte[] bytes = w.finish();
    assertThrows(IllegalArgumentException.class, () -> PackedRows.of(java.util.Arrays.copyOf(bytes, bytes.length - 2)));
  }

  @Test
  void writersReusingHandedBackArraysWriteWhatFreshWritersWrite() {
    SplittableRandom rnd = Seeds.fresh("PackedRowsTest.buffers");
    PackedRows.Buffers buffers = new PackedRows.Buffers(1 << 20);
    int dim = 4;
    // blocks of growing, shrinking and again growing size, one with positions out of order: a
    // reused array is larger than the rows it holds and still has the last block's bytes beyond them
    for (int rows : new int[] {700, 3, 40, 1500, 1}) {
      PackedRows.Writer fresh = new PackedRows.Writer(dim, Precision.BF16, 2);
      PackedRows.Writer reusing = new PackedRows.Writer(dim, Precision.BF16, 2, buffers);
      for (int i = 0; i < rows; i++) {
        long p = rows == 40 ? (i * 7L) % 41 : 10L * i;
        float[][] kv = {Gaussian.floats(rnd, dim, 1), Gaussian.floats(rnd, dim, 1)};
        fresh.addFloats(p, kv);
        reusing.addFloats(p, kv);
      }
      assertArrayEquals(fresh.finish(), reusing.finish(), rows + " rows");
      reusing.release();
      assertTrue(buffers.kept() >= 3, "k, v and pos arrays handed back");
      assertThrows(IllegalStateException.class, reusing::finish);
      assertThrows(IllegalStateException.class, () -> reusing.addFloats(1, new float[][] {new float[dim], new float[dim]}));
    }
    // the next writer starts with the 1,500-row block's arrays instead of growing from 16 rows
    int before = buffers.kept();
    PackedRows.Writer next = new PackedRows.Writer(dim, Precision.BF16, 2, buffers);
    for (int i = 0; i < 1500; i++) {
      next.addFloats(i, new float[][] {new float[dim], new float[dim]});
    }
    assertEquals(before - 3, buffers.kept(), "no array grown, none handed back while filling");
    next.release();
    assertTrue(buffers.keptBytes() <= 1 << 20, "kept within the bound: " + buffers.keptBytes());
    PackedRows.Buffers none = new PackedRows.Buffers(0);
    PackedRows.Writer unkept = new PackedRows.Writer(dim, Precision.BF16, 1, none);
    unkept.addFloats(1, new float[][] {new float[dim]});
    unkept.release();
    assertEquals(0, none.kept());
  }

  @Test
  void writersExpectingAWholeBlockWriteWhatGrowingWritersWrite() {
    SplittableRandom rnd = Seeds.fresh("PackedRowsTest.expected");
    int dim = 3;
    int block = 64;
    PackedRows.Buffers buffers = new PackedRows.Buffers(1 << 20);
    // exactly the expected rows in order (returned as filled, no copy), fewer, more (moved to
    // growing arrays), out of order, fp32 through addFloats, and a position twice
    for (int rows : new int[] {block, 5, block + 30, block, block, 1}) {
      boolean shuffled = rows == block && rnd.nextBoolean();
      for (Precision precision : new Precision[] {Precision.BF16, Precision.FP32}) {
        PackedRows.Writer growing = new PackedRows.Writer(dim, precision, 2);
        PackedRows.Writer expecting = new PackedRows.Writer(dim, precision, 2, buffers, block);
        for (int i = 0; i < rows; i++) {
          long p = shuffled ? (i * 5L) % block : i;
          float[][] kv = {Gaussian.floats(rnd, dim, 1), Gaussian.floats(rnd, dim, 1)};
          growing.addFloats(p, kv);
          expecting.addFloats(p, kv);
          assertEquals(growing.bytes(), expecting.bytes());
        }
        byte[] expected = growing.finish();
        byte[] into = new byte[expected.length];
        expecting.finishInto(into, 0);
        assertArrayEquals(expected, into, rows + " rows into an array");
        assertArrayEquals(expected, expecting.finish(), rows + " rows" + (shuffled ? " out of order" : ""));
        expecting.release();
      }
    }
    PackedRows.Writer twice = new PackedRows.Writer(1, Precision.FP16, 1, null, 2);
    twice.addEncoded(4, new byte[][] {{1, 2}});
    twice.addEncoded(4, new byte[][] {{3, 4}});
    assertThrows(IllegalArgumentException.class, twice::finish);
    // once finished in place, the array is the caller's: the writer takes no more rows
    PackedRows.Writer done = new PackedRows.Writer(1, Precision.FP16, 1, buffers, 1);
    done.addEncoded(0, new byte[][] {{1, 2}});
    PackedRows one = PackedRows.of(done.finish());
    assertEquals(1, one.rows());
    assertThrows(IllegalStateException.class, () -> done.addEncoded(1, new byte[][] {{3, 4}}));
  }

  /**
   * Threads sharing slabs (a task's reading threads) get slots that never overlap, whatever the
   * interleaving: each fills its slots with its own pattern, and every slot still holds it after.
   */
  @Test
  void threadsTakingSlotsAtOnceNeverShareBytes() throws Exception {
    PackedRows.Slabs slabs = new PackedRows.Slabs(8192);
    int threads = 8;
    List<List<Object[]>> taken = new ArrayList<>();
    java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
    List<Thread> running = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      List<Object[]> mine = new ArrayList<>();
      taken.add(mine);
      int id = t;
      Thread th = new Thread(() -> {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(id);
        try {
          start.await();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        for (int i = 0; i < 3000; i++) {
          int length = 1 + rnd.nextInt(600);
          PackedRows.Slabs.Slot slot = slabs.take(length);
          java.util.Arrays.fill(slot.array(), slot.offset(), slot.offset() + length, (byte) (id * 31 + i));
          mine.add(new Object[] {slot, length, (byte) (id * 31 + i)});
        }
      });
      running.add(th);
      th.start();
    }
    for (Thread th : running) {
      th.join();
    }
    long slots = 0;
    for (List<Object[]> mine : taken) {
      for (Object[] s : mine) {
        PackedRows.Slabs.Slot slot = (PackedRows.Slabs.Slot) s[0];
        int length = (Integer) s[1];
        assertEquals(0, slot.offset() % 8, "8-byte aligned");
        for (int b = slot.offset(); b < slot.offset() + length; b++) {
          assertEquals((byte) s[2], slot.array()[b], "byte " + b + " of a slot");
        }
        slots++;
      }
    }
    assertEquals(threads * 3000L, slots);
  }

  @Test
  void valuesLaidOutInSlabsReadAsTheSameValuesInArraysOfTheirOwn() throws Exception {
    SplittableRandom rnd = Seeds.fresh("PackedRowsTest.slabs");
    int dim = 5;
    int block = 40;
    PackedRows.Slabs slabs = new PackedRows.Slabs(4096); // a few blocks per slab, and values too big for one
    List<PackedRows> inSlabs = new ArrayList<>();
    List<byte[]> alone = new ArrayList<>();
    // whole blocks (laid out in a slab), a short one and one out of order (copied out), a k/v block
    // over half a slab (an array of its own), q and k/v blocks in turn
    int[] rowsOf = {block, block, 7, block, block, 200, block};
    for (int b = 0; b < rowsOf.length; b++) {
      int vectors = 1 + b % 2;
      int expected = rowsOf[b] == 200 ? 200 : block;
      boolean shuffled = b == 3;
      PackedRows.Writer plain = new PackedRows.Writer(dim, Precision.BF16, vectors);
      PackedRows.Writer slabbed = new PackedRows.Writer(dim, Precision.BF16, vectors, null, expected, slabs);
      for (int i = 0; i < rowsOf[b]; i++) {
        long p = 1000L * b + (shuffled ? (i * 7L) % rowsOf[b] : i);
        float[][] x = {Gaussian.floats(rnd, dim, 1), Gaussian.floats(rnd, dim, 1)};
        float[][] row = vectors == 1 ? new float[][] {x[0]} : x;
        plain.addFloats(p, row);
        slabbed.addFloats(p, row);
      }
      alone.add(plain.finish());
      inSlabs.add(slabbed.finishRows());
    }
    assertTrue(inSlabs.get(0).array() == inSlabs.get(1).array() && inSlabs.get(1).vectorOffset(0) > inSlabs.get(0).vectorOffset(0),
        "whole blocks share a slab");
    assertTrue(inSlabs.get(5).array().length == inSlabs.get(5).size(), "a value over half a slab has an array of its own");
    for (int b = 0; b < rowsOf.length; b++) {
      PackedRows x = inSlabs.get(b);
      PackedRows y = PackedRows.of(alone.get(b));
      assertArrayEquals(alone.get(b), x.bytes(), "block " + b);
      assertEquals(y.size(), x.size());
      assertArrayEquals(y.positions(), x.positions(), "block " + b);
      assertEquals(y.pos(y.rows() - 1), x.pos(x.rows() - 1));
      for (int v = 0; v < y.vectors(); v++) {
        assertArrayEquals(y.decode(v), x.decode(v), "block " + b + " vector " + v);
        assertArrayEquals(java.util.Arrays.copyOfRange(y.array(), y.vectorOffset(v), y.vectorOffset(v) + y.vectorBytes()),
            java.util.Arrays.copyOfRange(x.array(), x.vectorOffset(v), x.vectorOffset(v) + x.vectorBytes()));
      }
      // Java serialisation carries the value alone, not its slab
      java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(buf)) {
        out.writeObject(x);
      }
      assertTrue(buf.size() < x.size() + 1024, "serialised " + buf.size() + " bytes for a value of " + x.size());
      try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(buf.toByteArray()))) {
        assertArrayEquals(alone.get(b), ((PackedRows) in.readObject()).bytes());
      }
    }
    // fragments in slabs assemble as fragments in arrays of their own
    assertArrayEquals(PackedRows.concat(List.of(PackedRows.of(alone.get(0)), PackedRows.of(alone.get(2)))).bytes(),
        PackedRows.concat(List.of(inSlabs.get(0), inSlabs.get(2))).bytes());
    assertThrows(IllegalArgumentException.class, () -> PackedRows.of(inSlabs.get(0).array(), 4090, 64));
  }
}
