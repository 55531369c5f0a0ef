package io.flashspark.attention;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The packed block layout: rows of one (document, head), sorted by position, in one
 * little-endian byte array that moves through Spark as a {@code binary} value and is copied as
 * is into the GPU's pinned staging memory. The only class that knows the layout.
 *
 * <pre>
 *  offset            size            field
 *  0                 int32           rows
 *  4                 int16           dim
 *  6                 int8            encoding: 0 fp32, 1 bf16, 2 fp16 ({@link Precision} ordinal)
 *  7                 int8            vectors per row: 1 (q) or 2 (k, then v)
 *  8                 int64[rows]     pos, strictly ascending
 *  8 + 8·rows        [rows][dim]     vector 0 (q or k), row-major, 4 or 2 bytes per value
 *  …  + rows·dim·w   [rows][dim]     vector 1 (v), when vectors == 2
 * </pre>
 *
 * Header and positions keep every vector section 8-byte aligned. A block is assembled from
 * fragments (runs of its rows packed on the map side) by {@link #concat}, which merges their
 * positions and refuses duplicates. A value lies in its own array, or at an offset of a larger one
 * that holds several ({@link Slabs}: blocks packed straight from the input into arrays the garbage
 * collector never copies).
 */
public final class PackedRows implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  public static final int HEADER_BYTES = 8;

  private final byte[] array;
  private final int base; // where the value starts in array
  private final int rows;
  private final int dim;
  private final Precision encoding;
  private final int vectors;

  private PackedRows(byte[] array, int base, int length) {
    this.array = array;
    this.base = base;
    ByteBuffer buf = buf();
    this.rows = buf.getInt(base);
    this.dim = buf.getShort(base + 4);
    this.encoding = Precision.values()[array[base + 6]];
    this.vectors = array[base + 7];
    if (length != size(rows, dim, encoding, vectors)) {
      throw new IllegalArgumentException("packed rows of " + length + " bytes, header says " + rows
          + " rows x " + vectors + " vectors x " + dim + " " + encoding.label());
    }
  }

  /** Reads a packed value (no copy). */
  public static PackedRows of(byte[] bytes) {
    return new PackedRows(bytes, 0, bytes.length);
  }

  /** Reads the packed value of {@code length} bytes at {@code array[base..]} (no copy). */
  public static PackedRows of(byte[] array, int base, int length) {
    if (base < 0 || length < HEADER_BYTES || base > array.length - length) {
      throw new IllegalArgumentException("packed rows at " + base + " (" + length + " bytes) of an array of "
          + array.length);
    }
    return new PackedRows(array, base, length);
  }

  /** Java serialisation writes the value alone, not the rest of an array it shares. */
  private Object writeReplace() {
    return ownsArray() ? this : of(bytes());
  }

  /** Whether the value is its array, whole (no slab's neighbours around it). */
  private boolean ownsArray() {
    return base == 0 && array.length == size();
  }

  /** Bytes of one value in {@code encoding}. */
  public static int valueBytes(Precision encoding) {
    return encoding == Precision.FP32 ? 4 : 2;
  }

  /** Size of a packed value: header, positions, vectors. */
  public static long size(long rows, int dim, Precision encoding, int vectors) {
    return HEADER_BYTES + rows * (Long.BYTES + (long) vectors * dim * valueBytes(encoding));
  }

  /** The value as an array of its own (copied out where it shares a larger one). */
  public byte[] bytes() {
    return ownsArray() ? array : Arrays.copyOfRange(array, base, base + size());
  }

  /** The array holding the value ({@link #vectorOffset} says where its vectors lie in it). */
  public byte[] array() { return array; }

  /** Bytes of the value: header, positions, vectors. */
  public int size() {
    return (int) size(rows, dim, encoding, vectors);
  }

  public int rows() { return rows; }
  public int dim() { return dim; }
  public Precision encoding() { return encoding; }
  public int vectors() { return vectors; }

  private ByteBuffer buf() {
    return ByteBuffer.wrap(array).order(ByteOrder.LITTLE_ENDIAN);
  }

  public long pos(int row) {
    return buf().getLong(base + HEADER_BYTES + row * Long.BYTES);
  }

  public long[] positions() {
    long[] out = new long[rows];
    buf().position(base + HEADER_BYTES).slice().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
    return out;
  }

  /** Byte offset of vector {@code which} (0: q or k, 1: v) in {@link #array}. */
  public int vectorOffset(int which) {
    if (which < 0 || which >= vectors) {
      throw new IllegalArgumentException("vector " + which + " of " + vectors);
    }
    return (int) (base + HEADER_BYTES + (long) rows * Long.BYTES + (long) which * rows * dim * valueBytes(encoding));
  }

  public int vectorBytes() {
    return rows * dim * valueBytes(encoding);
  }

  /** Vector {@code which} widened to fp32, row-major {@code [rows][dim]}. */
  public float[] decode(int which) {
    float[] out = new float[rows * dim];
    decodeInto(array, vectorOffset(which), encoding, out, 0, out.length);
    return out;
  }

  /** {@code count} little-endian values of {@code encoding} from {@code src[offset..]} into {@code dst}. */
  public static void decodeInto(byte[] src, int offset, Precision encoding, float[] dst, int dstOffset, int count) {
    ByteBuffer b = ByteBuffer.wrap(src).order(ByteOrder.LITTLE_ENDIAN);
    switch (encoding) {
      case FP32:
        b.position(offset);
        b.asFloatBuffer().get(dst, dstOffset, count);
        break;
      case BF16:
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = Float.intBitsToFloat((b.getShort(offset + 2 * i) & 0xffff) << 16);
        }
        break;
      default:
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = LowPrecision.fp16ToFloat(b.getShort(offset + 2 * i));
        }
    }
  }

  /** These rows as a query block (q widened to fp32 only when asked for). */
  public QueryBlock queryBlock() {
    requireVectors(1);
    return new QueryBlock(rows, dim, null, positions(), this);
  }

  /** These rows as a key/value block (k, v widened to fp32 only when asked for). */
  public KeyValueBlock keyValueBlock() {
    requireVectors(2);
    return new KeyValueBlock(rows, dim, null, null, positions(), this);
  }

  private void requireVectors(int n) {
    if (vectors != n) {
      throw new IllegalStateException("packed rows hold " + vectors + " vector(s) per row, expected " + n);
    }
  }

  /**
   * Collects rows in any order and packs them sorted by position; {@link #finish} refuses a
   * position given twice.
   */
  public static final class Writer {
    private final int dim;
    private final Precision encoding;
    private final int vectors;
    private final int width;
    private final Buffers buffers; // null: arrays are left to the garbage collector
    private long[] pos;
    private byte[][] data;
    private final int[] base; // where vector i's rows start in data[i]
    private byte[] laidOut; // the final packed value being filled in place (see the constructor), else null
    private int laidOutBase; // where in laidOut (an array of its own, or a slab's)
    private int capacity; // rows the arrays hold
    private int rows;
    private boolean ascending = true;

    public Writer(int dim, Precision encoding, int vectors) {
      this(dim, encoding, vectors, null);
    }

    /**
     * A writer whose arrays come from {@code buffers} and go back there on {@link #release}, so
     * that the next block's writer starts at the size the last one reached.
     */
    public Writer(int dim, Precision encoding, int vectors, Buffers buffers) {
      this(dim, encoding, vectors, buffers, 0);
    }

    /**
     * A writer that expects {@code expectedRows} rows (a whole block of sorted input, say), or 0:
     * it then fills one array in the final layout, which {@link #finish} returns as it is when
     * exactly that many rows came in ascending order, with no copy; more rows move it to growing
     * arrays, fewer or out of order are copied out as usual.
     */
    public Writer(int dim, Precision encoding, int vectors, Buffers buffers, int expectedRows) {
      this(dim, encoding, vectors, buffers, expectedRows, null);
    }

    /**
     * As {@link #Writer(int, Precision, int, Buffers, int)}, the value laid out in place taken from
     * {@code slabs} (null: an array of its own); {@link #finishRows} then hands it over where it lies.
     */
    public Writer(int dim, Precision encoding, int vectors, Buffers buffers, int expectedRows, Slabs slabs) {
      if (dim < 1 || dim > Short.MAX_VALUE || vectors < 1 || vectors > 2 || expectedRows < 0) {
        throw new IllegalArgumentException("dim " + dim + ", vectors " + vectors + ", rows " + expectedRows);
      }
      this.dim = dim;
      this.encoding = encoding;
      this.vectors = vectors;
      this.width = dim * valueBytes(encoding);
      this.buffers = buffers;
      this.base = new int[vectors];
      this.pos = new long[0];
      this.data = new byte[vectors][0];
      long laidOutSize = size(expectedRows, dim, encoding, vectors);
      if (expectedRows > 0 && laidOutSize <= Integer.MAX_VALUE - 16) {
        if (slabs == null) {
          laidOut = new byte[(int) laidOutSize];
        } else {
          Slabs.Slot slot = slabs.take((int) laidOutSize);
          laidOut = slot.array();
          laidOutBase = slot.offset();
        }
        pos = new long[expectedRows];
        for (int i = 0; i < vectors; i++) {
          data[i] = laidOut;
          base[i] = (int) (laidOutBase + HEADER_BYTES + (long) expectedRows * Long.BYTES + (long) i * expectedRows * width);
        }
        capacity = expectedRows;
      } else {
        grow(16);
      }
    }

    public int rows() { return rows; }
    public int dim() { return dim; }
    public Precision encoding() { return encoding; }

    /** Bytes this writer holds so far. */
    public long bytes() {
      return size(rows, dim, encoding, vectors);
    }

    /**
     * Appends a row whose vector {@code i} is already encoded: {@code dim} values of this writer's
     * encoding at {@code encoded[i]}.
     */
    public void addEncoded(long position, byte[][] encoded) {
      addEncoded(position, (i, dst, offset, length) -> System.arraycopy(encoded[i], 0, dst, offset, length));
    }

    /**
     * Appends a row whose encoded vectors {@code source} copies into place itself (from wherever
     * the caller holds them, with no intermediate array).
     */
    public void addEncoded(long position, EncodedSource source) {
      add(position);
      for (int i = 0; i < vectors; i++) {
        source.copy(i, data[i], base[i] + rows * width, width);
      }
      rows++;
    }

    /** Appends a row of fp32 vectors, rounding them to this writer's encoding. */
    public void addFloats(long position, float[][] values) {
      add(position);
      for (int i = 0; i < vectors; i++) {
        ByteBuffer b = ByteBuffer.wrap(data[i], base[i] + rows * width, width).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : values[i]) {
          switch (encoding) {
            case FP32: b.putFloat(x); break;
            case BF16: b.putShort(LowPrecision.floatToBf16(x)); break;
            default: b.putShort(LowPrecision.floatToFp16(x));
          }
        }
      }
      rows++;
    }

    private void add(long position) {
      if (pos == null) {
        throw new IllegalStateException("writer already released");
      }
      if (rows == capacity) {
        grow(Math.multiplyExact(rows, 2));
      }
      ascending &= rows == 0 || position > pos[rows - 1];
      pos[rows] = position;
    }

    /**
     * Arrays for at least {@code wanted} rows, the rows so far copied over, the old arrays given
     * back (a laid-out array is left to the collector: it is not the pool's size).
     */
    private void grow(int wanted) {
      long[] newPos = buffers == null ? new long[wanted] : buffers.longs(wanted);
      System.arraycopy(pos, 0, newPos, 0, rows);
      giveBack(pos);
      pos = newPos;
      int fits = newPos.length;
      for (int i = 0; i < vectors; i++) {
        int bytes = Math.multiplyExact(wanted, width);
        byte[] d = buffers == null ? new byte[bytes] : buffers.bytes(bytes);
        System.arraycopy(data[i], base[i], d, 0, rows * width);
        if (laidOut == null) {
          giveBack(data[i]);
        }
        data[i] = d;
        base[i] = 0;
        fits = Math.min(fits, d.length / width);
      }
      laidOut = null;
      capacity = fits;
    }

    private void giveBack(long[] a) {
      if (buffers != null && a.length > 0) {
        buffers.give(a);
      }
    }

    private void giveBack(byte[] a) {
      if (buffers != null && a.length > 0) {
        buffers.give(a);
      }
    }

    /**
     * Hands this writer's arrays back to its {@link Buffers} (once its rows are written out); the
     * writer takes no more rows.
     */
    public void release() {
      if (pos == null) {
        return;
      }
      giveBack(pos);
      if (laidOut == null) {
        for (byte[] d : data) {
          giveBack(d);
        }
      }
      laidOut = null;
      pos = null;
      data = null;
      capacity = 0;
    }

    /**
     * The packed rows, sorted by position, where they lie: filled in place (all expected rows, in
     * order), the laid-out value itself, else a new array.
     *
     * @throws IllegalArgumentException naming a duplicate position
     */
    public PackedRows finishRows() {
      if (laidOut != null && rows == capacity && ascending) { // filled in place: header and positions, no copy
        byte[] out = laidOut;
        int at = laidOutBase;
        int size = Math.toIntExact(bytes());
        ByteBuffer b = ByteBuffer.wrap(out, at, size).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(rows).putShort((short) dim).put((byte) encoding.ordinal()).put((byte) vectors);
        for (int r = 0; r < rows; r++) {
          b.putLong(pos[r]);
        }
        release(); // the value is the caller's now: this writer takes no more rows
        return of(out, at, size);
      }
      return of(finish());
    }

    /** The packed rows, sorted by position, in an array of their own. @throws IllegalArgumentException naming a duplicate position */
    public byte[] finish() {
      if (laidOut != null && laidOutBase == 0 && laidOut.length == bytes() && rows == capacity && ascending) {
        return finishRows().array(); // filled in place in an array of its own: no copy
      }
      long size = bytes();
      if (size > Integer.MAX_VALUE - 16) {
        throw new IllegalStateException("packed rows of " + size + " bytes exceed a Java array");
      }
      byte[] out = new byte[(int) size];
      finishInto(out, 0);
      return out;
    }

    /**
     * Writes the packed rows, sorted by position, into {@code dst} from {@code offset} ({@link
     * #bytes} of them), e.g. straight into the row that carries them.
     *
     * @throws IllegalArgumentException naming a duplicate position (before anything is written)
     */
    public void finishInto(byte[] dst, int offset) {
      if (pos == null) {
        throw new IllegalStateException("writer already released");
      }
      Integer[] order = null;
      if (!ascending) {
        order = new Integer[rows];
        for (int r = 0; r < rows; r++) {
          order[r] = r;
        }
        Arrays.sort(order, (a, b) -> Long.compare(pos[a], pos[b]));
        for (int r = 1; r < rows; r++) {
          if (pos[order[r]] == pos[order[r - 1]]) {
            throw new IllegalArgumentException("duplicate position " + pos[order[r]]);
          }
        }
      }
      ByteBuffer out = ByteBuffer.wrap(dst, offset, Math.toIntExact(bytes())).order(ByteOrder.LITTLE_ENDIAN);
      out.putInt(rows).putShort((short) dim).put((byte) encoding.ordinal()).put((byte) vectors);
      for (int r = 0; r < rows; r++) {
        out.putLong(pos[order == null ? r : order[r]]);
      }
      for (int i = 0; i < vectors; i++) {
        if (order == null) {
          out.put(data[i], base[i], rows * width);
        } else {
          for (int r = 0; r < rows; r++) {
            out.put(data[i], base[i] + order[r] * width, width);
          }
        }
      }
    }
  }

  /**
   * Arrays that finished {@link Writer}s hand back for the next ones (one per task, not shared
   * between threads). Packing a partition opens a writer per block; grown from 16 rows, a 2,048-row
   * block's writers allocated about twice the block in arrays thrown away on the way, and on a fresh
   * heap that is memory touched for the first time (page faults: on the development VM packing a
   * cold heap ran at a third of its speed on a warm one).
   */
  public static final class Buffers {
    private final long maxBytes;
    private long keptBytes;
    // largest first: a pool of many small arrays (grown past) must not be scanned per writer
    private final java.util.PriorityQueue<byte[]> bytes = new java.util.PriorityQueue<>(
        java.util.Comparator.comparingInt((byte[] a) -> a.length).reversed());
    private final java.util.PriorityQueue<long[]> longs = new java.util.PriorityQueue<>(
        java.util.Comparator.comparingInt((long[] a) -> a.length).reversed());

    /** Keeps handed-back arrays up to {@code maxBytes} in all; beyond, they are the collector's. */
    public Buffers(long maxBytes) {
      this.maxBytes = maxBytes;
    }

    /**
     * The largest kept array if it holds at least {@code length} bytes, else a new one of exactly
     * that length: a writer mostly fills a whole block, so it starts with the largest.
     */
    byte[] bytes(int length) {
      byte[] a = bytes.peek();
      if (a != null && a.length >= length) {
        keptBytes -= bytes.poll().length;
        return a;
      }
      return new byte[length];
    }

    long[] longs(int length) {
      long[] a = longs.peek();
      if (a != null && a.length >= length) {
        keptBytes -= 8L * longs.poll().length;
        return a;
      }
      return new long[length];
    }

    void give(byte[] a) {
      if (keptBytes + a.length <= maxBytes) {
        bytes.add(a);
        keptBytes += a.length;
      }
    }

    void give(long[] a) {
      if (keptBytes + 8L * a.length <= maxBytes) {
        longs.add(a);
        keptBytes += 8L * a.length;
      }
    }

    /** Arrays kept now (for tests). */
    public int kept() {
      return bytes.size() + longs.size();
    }

    /** Bytes kept now (for tests). */
    public long keptBytes() {
      return keptBytes;
    }
  }

  /**
   * Arrays that hold many packed values each, sized so that the JVM's G1 collector allocates each
   * straight in the old generation as one "humongous" region and never copies it: blocks packed
   * from the input live until their cell has computed, and as arrays of their own each was copied
   * once from the young generation (on one H100, the 1M-token job's reading threads stopped for
   * 110-190 ms every half second while G1 copied about 2.3 GB of them). Shared by the threads that
   * pack one task's input; a slab lives as long as any value in it.
   */
  public static final class Slabs {
    /** Where a value goes: {@code array[offset..]}. */
    public record Slot(byte[] array, int offset) {}

    private final int slabBytes;
    private byte[] current;
    private int used;
    private final java.util.ArrayDeque<byte[]> spares = new java.util.ArrayDeque<>();

    /** Slabs of {@code slabBytes} each; values over half of it get arrays of their own. */
    public Slabs(int slabBytes) {
      if (slabBytes < 1024) {
        throw new IllegalArgumentException("slabs of " + slabBytes + " bytes");
      }
      this.slabBytes = slabBytes;
    }

    /**
     * Slabs as large as one G1 region allows (an object over half a region is humongous), or
     * empty where the JVM runs another collector or does not say
     * ({@code -Dflashspark.slabs=false} turns them off).
     */
    public static java.util.Optional<Slabs> forThisHeap() {
      return REGION_BYTES > 0 ? java.util.Optional.of(new Slabs(REGION_BYTES - 64)) : java.util.Optional.empty();
    }

    private static final int REGION_BYTES = regionBytes();

    private static int regionBytes() {
      if (!Boolean.parseBoolean(System.getProperty("flashspark.slabs", "true"))) {
        return 0;
      }
      try {
        com.sun.management.HotSpotDiagnosticMXBean vm = java.lang.management.ManagementFactory
            .getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        if (vm == null || !Boolean.parseBoolean(vm.getVMOption("UseG1GC").getValue())) {
          return 0;
        }
        long region = Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue());
        return region >= 1 << 20 && region <= 1 << 30 ? (int) region : 0;
      } catch (RuntimeException | LinkageError e) {
        return 0; // no such option or no management: plain arrays
      }
    }

    /**
     * Room for a value of {@code length} bytes, 8-byte aligned. Thread-safe: a task's reading
     * threads share its slabs. A new slab is allocated outside the lock (zeroing a region of fresh
     * memory took the other threads' turn: on one H100, 16 threads waited 2.5 s in all on this lock
     * while the first cell was read, 7.5 s during the later cells); where several threads found the
     * slab full at once, the slabs they made wait as spares for the next ones.
     */
    public Slot take(int length) {
      if (length > slabBytes / 2) {
        return new Slot(new byte[length], 0);
      }
      synchronized (this) {
        Slot slot = takeFromCurrent(length);
        if (slot != null) {
          return slot;
        }
      }
      byte[] fresh = new byte[slabBytes];
      synchronized (this) {
        spares.add(fresh);
        return takeFromCurrent(length); // never null: a spare holds at least half a slab
      }
    }

    /** Room in the current slab (or the next spare), or null where there is none. */
    private Slot takeFromCurrent(int length) {
      if (current == null || used + length > current.length) {
        if (spares.isEmpty()) {
          return null;
        }
        current = spares.poll();
        used = 0;
      }
      Slot slot = new Slot(current, used);
      used = Math.min(current.length, (used + length + 7) & ~7);
      return slot;
    }
  }

  /** Copies a row's encoded vectors into a {@link Writer}'s storage. */
  @FunctionalInterface
  public interface EncodedSource {
    /** Copies vector {@code vector} of the row ({@code length} bytes) to {@code dst[offset..]}. */
    void copy(int vector, byte[] dst, int offset, int length);
  }

  /**
   * One block from its fragments, rows merged by position. Fragments must agree in dim, encoding
   * and vectors. Throws {@link IllegalArgumentException} naming the first position found twice.
   */
  public static PackedRows concat(List<PackedRows> fragments) {
    if (fragments.size() == 1) {
      return fragments.get(0);
    }
    PackedRows first = fragments.get(0);
    long total = 0;
    for (PackedRows f : fragments) {
      if (f.dim != first.dim || f.encoding != first.encoding || f.vectors != first.vectors) {
        throw new IllegalArgumentException("fragments of one block differ: " + f.dim + "/" + f.encoding + "/"
            + f.vectors + " and " + first.dim + "/" + first.encoding + "/" + first.vectors);
      }
      total += f.rows;
    }
    // fragments sorted by their first position; the rows in order by a k-way merge
    List<PackedRows> sorted = new ArrayList<>(fragments);
    sorted.removeIf(f -> f.rows == 0);
    sorted.sort((a, b) -> Long.compare(a.pos(0), b.pos(0)));
    int[] next = new int[sorted.size()];
    long[][] pos = new long[sorted.size()][];
    for (int i = 0; i < sorted.size(); i++) {
      pos[i] = sorted.get(i).positions();
    }
    int width = first.dim * valueBytes(first.encoding);
    boolean disjoint = true;
    for (int i = 1; i < sorted.size() && disjoint; i++) {
      disjoint = pos[i][0] > pos[i - 1][pos[i - 1].length - 1];
    }
    long size = size(total, first.dim, first.encoding, first.vectors);
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("a block of " + size + " bytes exceeds a Java array: use a smaller --block-size");
    }
    byte[] out = new byte[(int) size];
    ByteBuffer ob = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    ob.putInt((int) total).putShort((short) first.dim).put((byte) first.encoding.ordinal()).put((byte) first.vectors);
    int vectorBase = (int) (HEADER_BYTES + total * Long.BYTES);
    if (disjoint) { // the common case (input sorted by position): whole sections, one after another
      int row = 0;
      for (int i = 0; i < sorted.size(); i++) {
        PackedRows f = sorted.get(i);
        for (int r = 0; r < f.rows; r++) {
          ob.putLong(HEADER_BYTES + (row + r) * Long.BYTES, pos[i][r]);
        }
        for (int v = 0; v < first.vectors; v++) {
          System.arraycopy(f.array, f.vectorOffset(v), out, vectorBase + (int) ((long) v * total * width) + row * width,
              f.rows * width);
        }
        row += f.rows;
      }
      return of(out);
    }
    long previous = 0;
    for (int r = 0; r < total; r++) {
      int best = -1;
      for (int i = 0; i < sorted.size(); i++) {
        if (next[i] < pos[i].length && (best < 0 || pos[i][next[i]] < pos[best][next[best]])) {
          best = i;
        }
      }
      long p = pos[best][next[best]];
      if (r > 0 && p == previous) {
        throw new IllegalArgumentException("duplicate position " + p);
      }
      previous = p;
      ob.putLong(HEADER_BYTES + r * Long.BYTES, p);
      PackedRows f = sorted.get(best);
      for (int v = 0; v < first.vectors; v++) {
        System.arraycopy(f.array, f.vectorOffset(v) + next[best] * width, out,
            vectorBase + (int) ((long) v * total * width) + r * width, width);
      }
      next[best]++;
    }
    return of(out);
  }
}
