package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.Partial;
import io.flashspark.attention.Precision;
import io.flashspark.attention.QueryBlock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

/**
 * One forward launch and its data movement. The device holds the whole launch: K, V and Q in 16
 * bits ({@code [K | V | Q]} rows), the tables, and o, m, l in fp32; the host holds only the
 * stream's pinned ring of four slots (two for uploads, two for downloads, {@code slotBytes} each),
 * so a launch is bounded by device memory, not by pinned memory or Java's 2 GiB buffer views: a
 * 16M-token key/value shard stays on the device while its queries stream through.
 *
 * <p>Order: the tables go up first, then per query chunk the key and value rows it sees that are
 * not up yet and its Q rows (copy-in stream, slot by slot; inputs not packed in the launch's
 * precision go up as fp32 and are converted on the device; a causal launch's first chunk needs a
 * fraction of the keys, a full one all of them), the compute stream runs the chunk's tiles once they
 * are in, and, while
 * the next chunk computes, the previous chunk's o, m, l come back piece by piece (copy-out stream)
 * and are folded into the callers' partials. A slot is refilled only after the copy that used it
 * has finished (one event per slot).
 */
final class StagedLaunch {
  private final GpuDevice device;
  private final GpuDevice.Stream s;
  private final LaunchPlan plan;
  private final Precision precision;
  private final boolean direct;
  private final int d;
  private final long slotBytes;
  private final ByteBuffer ring;
  private final CUdeviceptr[] scratch = new CUdeviceptr[2];
  private int nextUploadSlot;
  private long kernelNanos;
  /**
   * Pieces the last query chunk is cut into: its partials are written after the last kernel, the
   * job's tail (1M-token cells on one H100: the last of 4 chunks' 262k rows took 0.4-0.6 s to write
   * as Parquet after the GPU was done).
   */
  static final int TAIL_PIECES = 4;
  /**
   * Key rows a chunk's keys are rounded up to before it starts: at least the kernels' key tile
   * (128 rows on sm_90, 64 on the sm_80 path), which they load whole.
   */
  static final int KEY_TILE_ROWS = 256;
  /** Entries of {@link #run}'s {@code times}. */
  static final int TIMES = 4;
  private final long[] times; // run()'s: the phases' host times go to [1..3]

  private StagedLaunch(GpuDevice device, GpuDevice.Stream s, LaunchPlan plan, Precision precision, long slotBytes,
      long[] times) {
    this.device = device;
    this.times = times;
    this.s = s;
    this.plan = plan;
    this.precision = precision;
    this.direct = plan.packedIn(precision);
    this.d = plan.dim();
    this.slotBytes = ringSlotBytes(d, plan.queryRows(), plan.keyRows(), direct, metaBytes(plan), slotBytes);
    this.ring = s.staging(GpuDevice.RING_SLOTS * this.slotBytes);
  }

  /** Bytes of each ring slot: {@code slotBytes}, or less where the whole launch moves less. */
  private static long ringSlotBytes(int d, long queryRows, long keyRows, boolean direct, long metaBytes,
      long slotBytes) {
    long staged = (2 * keyRows + queryRows) * d * (direct ? 2L : 4L);
    long needed = Math.max(Math.max(staged, metaBytes), queryRows * (d + 2L) * 4);
    return Math.max(4096, Math.min(slotBytes, (needed + 7) & ~7L)) & ~7L;
  }

  /** Device bytes of a launch's 16-bit K, V and Q rows. */
  static long inputBytes(int d, long queryRows, long keyRows) {
    return (2 * keyRows + queryRows) * d * 2;
  }

  /** Device bytes of a launch's fp32 o, m and l rows. */
  static long outputBytes(int d, long queryRows) {
    return queryRows * (d + 2L) * 4;
  }

  /**
   * What a launch of {@code queryRows} against {@code keyRows} (16-bit inputs staged as they are)
   * takes from the device, taken ahead of it by one thread ({@link GpuBackend#prepare}): a stream
   * with its pinned ring, the input and output buffers. Pinning host memory and mapping device
   * memory take the driver's lock: eight cells doing it at once as their launches began spent about
   * a second there on the H200; taken while the cells read, their first partials came about 0.45 s
   * sooner (session 13, docs/benchmarks.md).
   */
  static final class Reservation {
    private final GpuDevice device;
    private GpuDevice.Stream stream;
    private final List<CUdeviceptr> buffers = new java.util.ArrayList<>();

    private Reservation(GpuDevice device) {
      this.device = device;
    }

    /** The reserved stream, once. */
    GpuDevice.Stream takeStream() {
      GpuDevice.Stream s = stream;
      stream = null;
      return s;
    }

    /** A reserved buffer of {@code bytes}' size class, or null. */
    CUdeviceptr take(long bytes) {
      long size = DeviceMemoryPool.sizeClass(bytes);
      for (int i = 0; i < buffers.size(); i++) {
        if (device.pool.sizeOf(buffers.get(i)) == size) {
          return buffers.remove(i);
        }
      }
      return null;
    }

    /** Returns what no launch took. */
    void release() {
      if (stream != null) {
        device.releaseStream(stream);
        stream = null;
      }
      for (CUdeviceptr b : buffers) {
        device.pool.release(b);
      }
      buffers.clear();
    }
  }

  static Reservation reserve(GpuDevice device, int d, long queryRows, long keyRows, long slotBytes) {
    device.makeCurrent();
    Reservation r = new Reservation(device);
    try {
      r.stream = device.acquireStream();
      r.stream.staging(GpuDevice.RING_SLOTS * ringSlotBytes(d, queryRows, keyRows, true, 0, slotBytes));
      r.buffers.add(device.pool.acquire(inputBytes(d, queryRows, keyRows)));
      r.buffers.add(device.pool.acquire(outputBytes(d, queryRows)));
      return r;
    } catch (RuntimeException e) {
      r.release();
      throw e;
    }
  }

  private static long metaBytes(LaunchPlan plan) {
    return plan.segments().size() * 48L + ((plan.queryRows() * 4 + 7) & ~7L) + plan.numTiles() * 8L;
  }

  /**
   * Runs the launch, handing each query block's partial to {@code sink} once its chunk is back
   * (in query order). {@code times} ({@link #TIMES} entries) receives the kernels' device time
   * ({@code [0]}, nanoseconds) and the host's {@link System#nanoTime} when the tables and the first
   * chunk's keys and values were staged ({@code [1]}), the first chunk's kernel issued ({@code [2]}) and the first partial
   * delivered ({@code [3]}).
   */
  static void run(GpuDevice device, LaunchPlan plan, List<QueryBlock> queries, Precision precision,
      String kernelName, float scale, boolean poisonOutputs, long slotBytes, long chunkBytes, long[] times,
      Reservation reserved, AttentionBackend.PartialSink sink) {
    device.makeCurrent();
    GpuDevice.Stream reservedStream = reserved == null ? null : reserved.takeStream();
    GpuDevice.Stream s = reservedStream != null ? reservedStream : device.acquireStream();
    StagedLaunch launch = null;
    CUdeviceptr in = null;
    CUdeviceptr meta = null;
    CUdeviceptr out = null;
    try {
      launch = new StagedLaunch(device, s, plan, precision, slotBytes, times);
      int d = plan.dim();
      long kRows = plan.keyRows();
      long qRows = plan.queryRows();
      in = reservedOr(reserved, device, inputBytes(d, qRows, kRows));
      meta = device.pool.acquire(metaBytes(plan));
      out = reservedOr(reserved, device, outputBytes(d, qRows));
      launch.compute(queries, kernelName, scale, poisonOutputs, chunkBytes, in, meta, out, sink);
      times[0] = launch.kernelNanos;
    } finally {
      // buffers go back to the pool only when nothing queued on them can still run; return codes
      // are not checked here, so that a failure above is the one reported
      cuStreamSynchronize(s.stream);
      cuStreamSynchronize(s.compute);
      cuStreamSynchronize(s.copyOut);
      device.pool.release(in);
      device.pool.release(meta);
      device.pool.release(out);
      if (launch != null) {
        device.pool.release(launch.scratch[0]);
        device.pool.release(launch.scratch[1]);
      }
      device.releaseStream(s);
    }
  }

  private static CUdeviceptr reservedOr(Reservation reserved, GpuDevice device, long bytes) {
    CUdeviceptr p = reserved == null ? null : reserved.take(bytes);
    return p != null ? p : device.pool.acquire(bytes);
  }

  private void compute(List<QueryBlock> queries, String kernelName, float scale, boolean poisonOutputs,
      long chunkBytes, CUdeviceptr in, CUdeviceptr meta, CUdeviceptr out, AttentionBackend.PartialSink sink) {
    long kRows = plan.keyRows();
    long qRows = plan.queryRows();
    long qBase = 2 * kRows; // first Q row in the [K | V | Q] row space
    long rowBytesOnDevice = d * 2L + (d + 2L) * 4;
    int chunkCount = (int) Math.max(GpuDevice.CHUNKS_IN_FLIGHT,
        Math.min(Integer.MAX_VALUE, (qRows * rowBytesOnDevice + chunkBytes - 1) / chunkBytes));
    List<long[]> chunks = plan.chunks(chunkCount, TAIL_PIECES);
    int[] tileStarts = new int[chunks.size() + 1];
    int[] tiles = plan.tilesByChunk(chunks, tileStarts);
    long[] segmentTable = plan.segmentTable();
    int[] keyLimits = plan.keyLimitTable();
    long limitOffset = segmentTable.length * 8L;
    long tileOffset = (limitOffset + keyLimits.length * 4L + 7) & ~7L;

    Upload tables = new Upload(meta, 0, false);
    tables.putLongs(segmentTable);
    tables.finish();
    tables = new Upload(meta, limitOffset, false);
    tables.putInts(keyLimits, 0, keyLimits.length);
    tables.finish();
    tables = new Upload(meta, tileOffset, false);
    tables.putInts(tiles, 0, tiles.length);
    tables.finish();
    // keys and values go up in row order, each chunk's before its queries: a causal launch's first
    // chunk starts once the keys it sees are up (a quarter of them for four equal chunks)
    long[] keysNeeded = plan.keyRowsNeeded(chunks, KEY_TILE_ROWS);
    Upload keys = new Upload(in, 0, !direct);
    Upload values = new Upload(in, kRows * d * 2, !direct);
    int keysUp = 0; // key (and value) copies staged so far
    if (poisonOutputs) {
      long values32 = qRows * (d + 2L);
      Cuda.check(cuMemsetD32Async(out, 0x7fc00000, values32, s.compute), "cuMemsetD32Async", "values", values32);
    }

    CUdeviceptr k = in;
    CUdeviceptr v = in.withByteOffset(kRows * d * 2);
    CUdeviceptr q = in.withByteOffset(qBase * d * 2);
    CUdeviceptr m = out.withByteOffset(qRows * d * 4);
    CUdeviceptr l = out.withByteOffset(qRows * (d + 1L) * 4);
    CUfunction f = device.function(kernelName);
    int threads = device.threads(kernelName);
    int smem = device.sharedMemoryBytes(kernelName);
    // a chunk's partials are made when its output comes back (collect): made up front, a 1M-row
    // launch's 0.5 GB of fresh fp32 arrays held up its first kernel
    List<Partial> partials = new ArrayList<>(Collections.nCopies(queries.size(), (Partial) null));
    for (int c = 0; c < chunks.size(); c++) {
      keysUp = stageKeysAndValues(keys, values, keysUp, keysNeeded[c]);
      if (c == 0) {
        times[1] = System.nanoTime();
      }
      long rowA = chunks.get(c)[2];
      long rowB = chunks.get(c)[3];
      Upload chunk = new Upload(in, (qBase + rowA) * d * 2, !direct);
      for (LaunchPlan.Copy copy : plan.queryCopies()) {
        if (copy.deviceRow() >= rowA && copy.deviceRow() < rowB) {
          chunk.put(copy);
        }
      }
      chunk.finish();
      int e = c % GpuDevice.CHUNKS_IN_FLIGHT;
      Cuda.check(cuEventRecord(s.uploaded[e], s.stream), "cuEventRecord");
      Cuda.check(cuStreamWaitEvent(s.compute, s.uploaded[e], 0), "cuStreamWaitEvent");
      Cuda.check(cuEventRecord(s.kernelStart[e], s.compute), "cuEventRecord");
      int numTiles = tileStarts[c + 1] - tileStarts[c];
      if (numTiles > 0) {
        Pointer params = Pointer.to(Pointer.to(q), Pointer.to(k), Pointer.to(v), Pointer.to(out), Pointer.to(m),
            Pointer.to(l), Pointer.to(meta), Pointer.to(meta.withByteOffset(limitOffset)),
            Pointer.to(meta.withByteOffset(tileOffset + tileStarts[c] * 8L)),
            Pointer.to(new int[] {numTiles}), Pointer.to(new float[] {scale}));
        int grid = device.grid(kernelName, numTiles);
        Cuda.check(cuLaunchKernel(f, grid, 1, 1, threads, 1, 1, smem, s.compute, params, null), "cuLaunchKernel",
            "kernel", kernelName, "tiles", numTiles, "grid", grid, "queryRows", rowB - rowA, "keyRows", kRows);
      }
      Cuda.check(cuEventRecord(s.computed[e], s.compute), "cuEventRecord");
      if (c == 0) {
        times[2] = System.nanoTime();
      }
      if (c > 0) {
        collect(c - 1, chunks.get(c - 1), queries, out, partials, kernelName, sink);
        if (c == 1) {
          times[3] = System.nanoTime();
        }
      }
    }
    collect(chunks.size() - 1, chunks.get(chunks.size() - 1), queries, out, partials, kernelName, sink);
    if (chunks.size() == 1) {
      times[3] = System.nanoTime();
    }
  }

  /**
   * Stages the key copies from {@code from} on whose rows begin below {@code rowsNeeded}, then the
   * same value copies (one upload open at a time: the two share the ring's upload slots), and
   * returns the index of the first copy not staged.
   */
  private int stageKeysAndValues(Upload keys, Upload values, int from, long rowsNeeded) {
    List<LaunchPlan.Copy> keyCopies = plan.keyCopies();
    int to = from;
    while (to < keyCopies.size() && keyCopies.get(to).deviceRow() < rowsNeeded) {
      to++;
    }
    if (to == from) {
      return from;
    }
    for (int i = from; i < to; i++) {
      keys.put(keyCopies.get(i));
    }
    keys.finish();
    for (int i = from; i < to; i++) {
      values.put(plan.valueCopies().get(i));
    }
    values.finish();
    return to;
  }

  /**
   * Chunk {@code c}'s partials: opened now, under the next chunk's kernel, filled from its output,
   * and, complete once it is downloaded (chunks are consecutive query ranges; a launch with
   * duplicated query rows is one chunk), handed to the sink and dropped by the launch.
   */
  private void collect(int c, long[] chunk, List<QueryBlock> queries, CUdeviceptr out, List<Partial> partials,
      String kernelName, AttentionBackend.PartialSink sink) {
    plan.openChunk(chunk, queries, partials);
    download(c, chunk, out, partials, kernelName);
    for (int i = (int) chunk[0]; i < (int) chunk[1]; i++) {
      sink.accept(i, partials.set(i, null));
    }
  }

  /**
   * Brings chunk {@code c}'s o, m, l back through the two download slots, each piece folded into
   * the partials while the next one is copied; then adds the chunk's kernel time.
   */
  private void download(int c, long[] chunk, CUdeviceptr out, List<Partial> partials, String kernelName) {
    int e = c % GpuDevice.CHUNKS_IN_FLIGHT;
    Cuda.check(cuStreamWaitEvent(s.copyOut, s.computed[e], 0), "cuStreamWaitEvent");
    long rowA = chunk[2];
    long rowB = chunk[3];
    long pieceRows = Math.max(1, slotBytes / ((d + 2L) * 4));
    long pieces = (rowB - rowA + pieceRows - 1) / pieceRows;
    if (pieces > 0) {
      requestPiece(0, rowA, rowB, pieceRows, out);
    }
    for (long p = 0; p < pieces; p++) {
      if (p + 1 < pieces) {
        requestPiece(p + 1, rowA, rowB, pieceRows, out);
      }
      int slot = downloadSlot(p);
      Cuda.check(cuEventSynchronize(s.slotDone[slot]), "cuEventSynchronize (forward kernel " + kernelName + ")",
          "chunk", c, "queryRows", plan.queryRows(), "keyRows", plan.keyRows());
      long a = rowA + p * pieceRows;
      long b = Math.min(rowB, a + pieceRows);
      int rows = (int) (b - a);
      long base = slot * slotBytes;
      plan.assembleRows(partials, a, b, floats(base, (long) rows * d), floats(base + (long) rows * d * 4, rows),
          floats(base + (long) rows * (d + 1) * 4, rows));
    }
    float[] ms = new float[1];
    Cuda.check(cuEventSynchronize(s.computed[e]), "cuEventSynchronize (forward kernel " + kernelName + ")",
        "chunk", c);
    Cuda.check(cuEventElapsedTime(ms, s.kernelStart[e], s.computed[e]), "cuEventElapsedTime");
    kernelNanos += (long) (ms[0] * 1e6);
  }

  /** Download slots alternate after the two upload slots. */
  private static int downloadSlot(long p) {
    return 2 + (int) (p & 1);
  }

  /** Copies rows {@code [a, b)} of piece {@code p}: o, then m, then l, into its download slot. */
  private void requestPiece(long p, long rowA, long rowB, long pieceRows, CUdeviceptr out) {
    int slot = downloadSlot(p);
    long a = rowA + p * pieceRows;
    long b = Math.min(rowB, a + pieceRows);
    long rows = b - a;
    long base = slot * slotBytes;
    long qRows = plan.queryRows();
    copyOut(out, a * d * 4, base, rows * d * 4);
    copyOut(out, (qRows * d + a) * 4, base + rows * d * 4, rows * 4);
    copyOut(out, (qRows * (d + 1) + a) * 4, base + rows * (d + 1) * 4, rows * 4);
    Cuda.check(cuEventRecord(s.slotDone[slot], s.copyOut), "cuEventRecord");
  }

  private void copyOut(CUdeviceptr out, long deviceOffset, long pinnedOffset, long bytes) {
    Cuda.check(cuMemcpyDtoHAsync(s.pinned.withByteOffset(pinnedOffset), out.withByteOffset(deviceOffset), bytes,
        s.copyOut), "cuMemcpyDtoHAsync", "offset", deviceOffset, "bytes", bytes);
  }

  private FloatBuffer floats(long offset, long count) {
    return ring.duplicate().position(Math.toIntExact(offset)).limit(Math.toIntExact(offset + count * 4)).slice()
        .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  private interface SlotWriter {
    void write(ByteBuffer slot, int from, int count);
  }

  /**
   * Bytes streamed through the two upload slots into one contiguous device range. With
   * {@code convert} the slots carry fp32 values, copied to a device scratch buffer and converted
   * there into the 16-bit target; otherwise bytes go to the target as they are.
   */
  private final class Upload {
    private final CUdeviceptr target;
    private final boolean convert;
    private long targetOffset; // bytes of the target written by earlier flushes
    private ByteBuffer slot;
    private int slotIndex;

    Upload(CUdeviceptr target, long targetOffset, boolean convert) {
      this.target = target;
      this.targetOffset = targetOffset;
      this.convert = convert;
    }

    /** The rows of one plan copy: packed 16-bit bytes as they are, or fp32 values to convert. */
    void put(LaunchPlan.Copy c) {
      if (convert) {
        float[] src = c.source().get();
        putFloats(src, c.sourceRow() * d, c.rows() * d);
      } else {
        int rowBytes = d * 2;
        putBytes(c.packed().array(), c.packed().vectorOffset(c.vector()) + c.sourceRow() * rowBytes,
            c.rows() * rowBytes);
      }
    }

    void putBytes(byte[] src, int off, int len) {
      putValues(len, 1, (b, from, n) -> b.duplicate().put(src, off + from, n));
    }

    void putFloats(float[] src, int off, int len) {
      putValues(len, 4, (b, from, n) -> b.asFloatBuffer().put(src, off + from, n));
    }

    void putInts(int[] src, int off, int len) {
      putValues(len, 4, (b, from, n) -> b.asIntBuffer().put(src, off + from, n));
    }

    void putLongs(long[] src) {
      putValues(src.length, 8, (b, from, n) -> b.asLongBuffer().put(src, from, n));
    }

    /**
     * {@code count} values of {@code unit} bytes, as many per slot as fit: {@code put} writes
     * values {@code [from, from + n)} at the slot's position (without moving it).
     */
    private void putValues(int count, int unit, SlotWriter put) {
      for (int from = 0; from < count; ) {
        ByteBuffer b = slot();
        int n = Math.min(count - from, b.remaining() / unit);
        put.write(b, from, n);
        b.position(b.position() + unit * n);
        from += n;
        flushIfFull();
      }
    }

    /** The current slot; a fresh one waits until the copy that last read it is done. */
    private ByteBuffer slot() {
      if (slot == null) {
        slotIndex = nextUploadSlot;
        nextUploadSlot ^= 1;
        Cuda.check(cuEventSynchronize(s.slotDone[slotIndex]), "cuEventSynchronize (upload slot)");
        slot = ring.duplicate().position(Math.toIntExact(slotIndex * slotBytes))
            .limit(Math.toIntExact((slotIndex + 1) * slotBytes)).slice().order(ByteOrder.LITTLE_ENDIAN);
      }
      return slot;
    }

    /** Slots are multiples of 8 bytes and an upload puts one kind of value: a full slot has 0 left. */
    private void flushIfFull() {
      if (!slot.hasRemaining()) {
        finish();
      }
    }

    /** Sends what the current slot holds. */
    void finish() {
      if (slot == null || slot.position() == 0) {
        slot = null;
        return;
      }
      long bytes = slot.position();
      Pointer from = s.pinned.withByteOffset(slotIndex * slotBytes);
      if (convert) {
        if (scratch[slotIndex] == null) {
          scratch[slotIndex] = device.pool.acquire(slotBytes);
        }
        Cuda.check(cuMemcpyHtoDAsync(scratch[slotIndex], from, bytes, s.stream), "cuMemcpyHtoDAsync", "bytes", bytes);
        long values = bytes / 4;
        GpuBackend.convert(device, s, precision, scratch[slotIndex], target.withByteOffset(targetOffset), values);
        targetOffset += values * 2;
      } else {
        Cuda.check(cuMemcpyHtoDAsync(target.withByteOffset(targetOffset), from, bytes, s.stream), "cuMemcpyHtoDAsync",
            "offset", targetOffset, "bytes", bytes);
        targetOffset += bytes;
      }
      Cuda.check(cuEventRecord(s.slotDone[slotIndex], s.stream), "cuEventRecord");
      slot = null;
    }
  }
}
