package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.Partial;
import io.flashspark.attention.Precision;
import io.flashspark.attention.QueryBlock;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

/**
 * The GPU backend: the tiled FlashAttention kernel (kernels/src/flash_fwd.cu) launched through
 * the JCuda driver API. One call is one forward launch over all of its problems
 * ({@link LaunchPlan}). Inputs that come packed in the launch's 16-bit precision
 * ({@link io.flashspark.attention.PackedRows}, as the Spark job ships them) are copied byte for
 * byte into pinned memory and on to the device; other inputs are staged as fp32 and converted to
 * bf16/fp16 on the device. The fp32 outputs (o, m, l) come back through the same pinned buffer.
 * Reached only through {@link io.flashspark.attention.Backends}, so a JVM that never asks never
 * loads CUDA. After a sticky CUDA fault the device's context is reset and the backend forgotten,
 * so later tasks start on a fresh context instead of failing on the poisoned one.
 */
public final class GpuBackend implements AttentionBackend {
  private static final Map<Integer, GpuBackend> BACKENDS = new ConcurrentHashMap<>();
  private static final Map<Integer, String> UNUSABLE = new ConcurrentHashMap<>();
  private static final int NAN_BITS = 0x7fc00000;
  /**
   * Largest staging of one launch (flashspark.gpu.maxLaunchBytes, default 1.5 GiB): a pinned
   * buffer is viewed as one Java ByteBuffer, which stops at 2 GiB.
   */
  static final long MAX_LAUNCH_BYTES = Long.getLong("flashspark.gpu.maxLaunchBytes", 3L << 29);
  private static final ThreadLocal<long[]> LAST_KERNEL_NANOS = ThreadLocal.withInitial(() -> new long[1]);

  private final GpuDevice device;
  private final boolean poisonOutputs;

  private GpuBackend(GpuDevice device, boolean poisonOutputs) {
    this.device = device;
    this.poisonOutputs = poisonOutputs;
  }

  /**
   * The same device, filling every launch's outputs with NaN before the kernel runs, so a row the
   * kernel fails to write shows up (tests).
   */
  public GpuBackend poisoningOutputs() {
    return new GpuBackend(device, true);
  }

  public boolean poisonsOutputs() {
    return poisonOutputs;
  }

  /** The backend of the GPU at a Spark resource address (ordinal, GPU UUID or MIG instance). */
  public static GpuBackend get(String address) {
    if (address == null) {
      return get(-1);
    }
    int ordinal;
    try {
      ordinal = GpuDevice.ordinalOf(address);
    } catch (GpuException e) {
      throw e;
    } catch (Throwable e) { // no CUDA driver: JCuda's library does not load
      throw new GpuException("GPU backend unusable at GPU address " + address + ": " + unusable(e), e);
    }
    return get(ordinal);
  }

  /** The first line of what went wrong, naming the missing CUDA driver where that is the cause. */
  private static String unusable(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String first = String.valueOf(root.getMessage()).lines().findFirst().orElse("");
    boolean link = e instanceof LinkageError || root instanceof LinkageError || first.contains("native library");
    return (link ? "no CUDA driver could be loaded (" : "") + root.getClass().getSimpleName() + ": " + first
        + (link ? ")" : "");
  }

  public static GpuBackend getIfUsable(String address) {
    try {
      return getIfUsable(address == null ? -1 : GpuDevice.ordinalOf(address));
    } catch (GpuException | LinkageError e) {
      return null;
    }
  }

  /** Default device: system property {@code flashspark.gpu.device}, else env FLASHSPARK_GPU_DEVICE, else 0. */
  public static int defaultOrdinal() {
    String v = System.getProperty("flashspark.gpu.device", System.getenv("FLASHSPARK_GPU_DEVICE"));
    return v == null || v.isBlank() ? 0 : Integer.parseInt(v.trim());
  }

  public static GpuBackend get() {
    return get(defaultOrdinal());
  }

  /** The backend of GPU {@code ordinal}; throws {@link GpuException} saying why if it is unusable. */
  public static GpuBackend get(int ordinal) {
    if (ordinal < 0) {
      ordinal = defaultOrdinal();
    }
    try {
      return BACKENDS.computeIfAbsent(ordinal, o -> new GpuBackend(GpuDevice.open(o), false));
    } catch (GpuException e) {
      throw e;
    } catch (Throwable e) { // UnsatisfiedLinkError when there is no CUDA driver, etc.
      throw new GpuException("GPU backend unusable: " + unusable(e), e);
    }
  }

  public static GpuBackend getIfUsable() {
    return getIfUsable(defaultOrdinal());
  }

  /** The backend, or null when there is no usable GPU (the reason is remembered, see {@link #whyUnusable}). */
  public static GpuBackend getIfUsable(int ordinal) {
    if (ordinal < 0) {
      ordinal = defaultOrdinal();
    }
    if (UNUSABLE.containsKey(ordinal)) {
      return null;
    }
    try {
      return get(ordinal);
    } catch (GpuException e) {
      UNUSABLE.put(ordinal, e.getMessage());
      return null;
    }
  }

  public static String whyUnusable(int ordinal) {
    return UNUSABLE.get(ordinal);
  }

  @Override public String name() {
    return "gpu:" + device.name;
  }

  /** Device time of this thread's last forward kernel, in nanoseconds (CUDA events). */
  @Override public long lastKernelNanos() {
    return LAST_KERNEL_NANOS.get()[0];
  }

  @Override public boolean supports(int dim, Precision precision) {
    return precision != Precision.FP32 && device.config.has(forwardKernel(precision, dim, false));
  }

  static String forwardKernel(Precision precision, int dim, boolean causal) {
    return "flashspark_fwd_" + (precision == Precision.FP16 ? "fp16" : "bf16") + "_d" + dim + (causal ? "_causal" : "");
  }

  @Override public List<Partial> attend(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec) {
    Precision precision = spec.precision() == null ? Precision.BF16 : spec.precision();
    if (precision == Precision.FP32) {
      throw new GpuException("the GPU kernels take bf16 or fp16 inputs (fp32 accumulation); use --precision bf16"
          + " or fp16 with the GPU, or --backend cpu for fp32 inputs");
    }
    if (queries.isEmpty()) {
      return List.of();
    }
    int dim = queries.get(0).dim();
    String kernelName = forwardKernel(precision, dim, spec.causal());
    if (!device.config.has(kernelName)) {
      throw new GpuException("no GPU kernel for head dimension " + dim + " (" + kernelName + " not built);"
          + " use --backend cpu");
    }
    int blockM = device.config.get(kernelName, "block_m");
    long kernelNanos = 0;
    List<Partial> out = new ArrayList<>(queries.size());
    for (int[] range : launchGroups(queries, kvs, dim, MAX_LAUNCH_BYTES)) {
      List<QueryBlock> q = queries.subList(range[0], range[1]);
      LaunchPlan plan = LaunchPlan.build(q, kvs.subList(range[0], range[1]), spec.causal(), blockM);
      if (plan.numTiles() == 0) {
        out.addAll(plan.emptyPartials(q)); // no row sees a key: nothing to launch
        continue;
      }
      try {
        out.addAll(run(plan, q, precision, kernelName, (float) spec.scaleFor(dim)));
      } catch (GpuException e) {
        if (e.sticky()) {
          BACKENDS.remove(device.ordinal);
          device.discard();
          throw new GpuException(e.getMessage() + "; the device context was reset, later tasks open a fresh one", e);
        }
        throw e;
      }
      kernelNanos += LAST_KERNEL_NANOS.get()[0];
    }
    LAST_KERNEL_NANOS.get()[0] = kernelNanos;
    return out;
  }

  /**
   * Consecutive ranges of the call's problems, each small enough for one launch: its staging
   * (query rows with their outputs, plus each distinct key/value block once) within
   * {@code limit} bytes. A single problem over the limit is refused with advice.
   */
  static List<int[]> launchGroups(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, int dim, long limit) {
    List<int[]> groups = new ArrayList<>();
    int start = 0;
    long bytes = 0;
    Set<KeyValueBlock> staged = Collections.newSetFromMap(new IdentityHashMap<>());
    for (int i = 0; i < queries.size(); i++) {
      long add = (long) queries.get(i).rows() * (2 * dim + 2) * 4 + 64; // q in, o/m/l out
      List<KeyValueBlock> fresh = new ArrayList<>();
      for (KeyValueBlock kv : kvs.get(i)) {
        if (!staged.contains(kv)) {
          fresh.add(kv);
          add += (long) kv.rows() * dim * 8;
        }
      }
      if (bytes + add > limit && i > start) {
        groups.add(new int[] {start, i});
        start = i;
        bytes = 0;
        staged.clear();
        i--; // this problem opens the next group, with all of its keys
        continue;
      }
      if (add > limit) {
        throw new GpuException("one query block with its keys needs " + add + " bytes in one launch, over the "
            + limit + "-byte limit: use a smaller --block-size or more, smaller KV shards (--max-kv-shard-mb)");
      }
      bytes += add;
      staged.addAll(fresh);
    }
    if (start < queries.size()) {
      groups.add(new int[] {start, queries.size()});
    }
    return groups;
  }

  /**
   * One launch, pipelined over up to {@link GpuDevice#MAX_CHUNKS} chunks of queries. Keys and
   * values go first (copy-in stream: copy, convert); then per chunk the host stages its query rows
   * while the GPU works on the previous chunk, the copy-in stream copies and converts them, the
   * compute stream runs the chunk's tiles once they are in, and the copy-out stream brings the
   * chunk's o, m, l back while the next chunk computes; the host assembles each chunk's partials
   * as soon as it is back. Pinned layout: [K | V | Q] rows (packed 16-bit, or fp32 to convert), segment table, causal key limits, tile table, then
   * the outputs o, m, l (never reused within a call, so no stage waits for another).
   */
  private List<Partial> run(LaunchPlan plan, List<QueryBlock> queries, Precision precision, String kernelName,
      float scale) {
    device.makeCurrent();
    int d = plan.dim();
    long qRows = plan.queryRows();
    long kRows = plan.keyRows();
    List<long[]> chunks = plan.chunks(GpuDevice.MAX_CHUNKS);
    int[] tileStarts = new int[chunks.size() + 1];
    int[] tiles = plan.tilesByChunk(chunks, tileStarts);
    long[] segmentTable = plan.segmentTable();
    long inputValues = (2 * kRows + qRows) * d;
    long qBase = 2 * kRows; // first Q row in the [K | V | Q] row space
    boolean direct = plan.packedIn(precision); // 16-bit bytes as shipped: no fp32 staging, no conversion
    int width = direct ? 2 : 4;
    long metaOffset = (inputValues * width + 7) & ~7L;
    int[] keyLimits = plan.keyLimitTable();
    long limitOffset = metaOffset + segmentTable.length * 8L;
    long tileOffset = limitOffset + keyLimits.length * 4L;
    long inBytes = tileOffset + tiles.length * 4L;
    long outOffset = (inBytes + 15) & ~15L;
    long outBytes = qRows * (d + 2L) * 4;
    GpuDevice.Stream s = device.acquireStream();
    CUdeviceptr in32 = null;
    CUdeviceptr in16 = null;
    CUdeviceptr out = null;
    try {
      ByteBuffer staging = s.staging(outOffset + outBytes);
      stage(staging, plan.keyCopies(), 0, d, direct);
      stage(staging, plan.valueCopies(), kRows, d, direct);
      ByteBuffer meta = staging.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      meta.position((int) metaOffset);
      meta.asLongBuffer().put(segmentTable);
      meta.position((int) limitOffset);
      meta.asIntBuffer().put(keyLimits);
      meta.position((int) tileOffset);
      meta.asIntBuffer().put(tiles);

      in32 = device.pool.acquire(inBytes);
      in16 = direct ? in32 : device.pool.acquire(inputValues * 2);
      out = device.pool.acquire(outBytes);
      // keys, values and the tables: one copy, then (fp32 staging only) the conversion of K and V
      copyIn(s, in32, 0, 2 * kRows * d * width);
      copyIn(s, in32, metaOffset, inBytes - metaOffset);
      if (!direct) {
        convert(s, precision, in32, in16, 0, 2 * kRows * d);
      }
      if (poisonOutputs) {
        Cuda.check(cuMemsetD32Async(out, NAN_BITS, outBytes / 4, s.compute), "cuMemsetD32Async", "values",
            outBytes / 4);
      }

      CUdeviceptr k = in16;
      CUdeviceptr v = in16.withByteOffset(kRows * d * 2);
      CUdeviceptr q = in16.withByteOffset(qBase * d * 2);
      CUdeviceptr segments = in32.withByteOffset(metaOffset);
      CUdeviceptr m = out.withByteOffset(qRows * d * 4);
      CUdeviceptr l = out.withByteOffset(qRows * (d + 1L) * 4);
      CUfunction f = device.function(kernelName);
      int threads = device.config.get(kernelName, "threads");
      int smem = device.sharedMemoryBytes(kernelName);
      List<Partial> partials = plan.emptyPartials(queries);
      for (int c = 0; c < chunks.size(); c++) {
        long rowA = chunks.get(c)[2];
        long rowB = chunks.get(c)[3];
        int numTiles = tileStarts[c + 1] - tileStarts[c];
        for (LaunchPlan.Copy copy : plan.queryCopies()) {
          if (copy.deviceRow() >= rowA && copy.deviceRow() < rowB) {
            stage(staging, List.of(copy), qBase, d, direct);
          }
        }
        copyIn(s, in32, (qBase + rowA) * d * width, (rowB - rowA) * d * width);
        if (!direct) {
          convert(s, precision, in32, in16, (qBase + rowA) * d, (rowB - rowA) * d);
        }
        Cuda.check(cuEventRecord(s.uploaded[c], s.stream), "cuEventRecord");
        Cuda.check(cuStreamWaitEvent(s.compute, s.uploaded[c], 0), "cuStreamWaitEvent");
        Cuda.check(cuEventRecord(s.kernelStart[c], s.compute), "cuEventRecord");
        if (numTiles > 0) {
          Pointer params = Pointer.to(Pointer.to(q), Pointer.to(k), Pointer.to(v), Pointer.to(out), Pointer.to(m),
              Pointer.to(l), Pointer.to(segments), Pointer.to(in32.withByteOffset(limitOffset)),
              Pointer.to(in32.withByteOffset(tileOffset + tileStarts[c] * 8L)),
              Pointer.to(new int[] {numTiles}), Pointer.to(new float[] {scale}));
          Cuda.check(cuLaunchKernel(f, numTiles, 1, 1, threads, 1, 1, smem, s.compute, params, null), "cuLaunchKernel",
              "kernel", kernelName, "tiles", numTiles, "queryRows", rowB - rowA, "keyRows", kRows);
        }
        Cuda.check(cuEventRecord(s.computed[c], s.compute), "cuEventRecord");
        Cuda.check(cuStreamWaitEvent(s.copyOut, s.computed[c], 0), "cuStreamWaitEvent");
        copyOut(s, out, outOffset, rowA * d * 4, (rowB - rowA) * d * 4);
        copyOut(s, out, outOffset, (qRows * d + rowA) * 4, (rowB - rowA) * 4);
        copyOut(s, out, outOffset, (qRows * (d + 1) + rowA) * 4, (rowB - rowA) * 4);
        Cuda.check(cuEventRecord(s.downloaded[c], s.copyOut), "cuEventRecord");
      }
      long kernelNanos = 0;
      FloatBuffer result = staging.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN)
          .position((int) outOffset).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      FloatBuffer oHost = result.duplicate().position(0).limit((int) (qRows * d)).slice();
      FloatBuffer mHost = result.duplicate().position((int) (qRows * d)).limit((int) (qRows * (d + 1))).slice();
      FloatBuffer lHost = result.duplicate().position((int) (qRows * (d + 1))).limit((int) (qRows * (d + 2))).slice();
      for (int c = 0; c < chunks.size(); c++) {
        Cuda.check(cuEventSynchronize(s.downloaded[c]), "cuEventSynchronize (forward kernel " + kernelName + ")",
            "chunk", c, "tiles", tileStarts[c + 1] - tileStarts[c], "queryRows", qRows, "keyRows", kRows);
        float[] ms = new float[1];
        Cuda.check(cuEventElapsedTime(ms, s.kernelStart[c], s.computed[c]), "cuEventElapsedTime");
        kernelNanos += (long) (ms[0] * 1e6);
        plan.assemble(partials, (int) chunks.get(c)[0], (int) chunks.get(c)[1], oHost, mHost, lHost);
      }
      LAST_KERNEL_NANOS.get()[0] = kernelNanos;
      return partials;
    } finally {
      if (in32 != null) {
        // buffers go back to the pool only when nothing queued on them can still run; return codes
        // are not checked here, so that a failure above is the one reported
        cuStreamSynchronize(s.stream);
        cuStreamSynchronize(s.compute);
        cuStreamSynchronize(s.copyOut);
      }
      device.pool.release(in32);
      if (in16 != in32) {
        device.pool.release(in16);
      }
      device.pool.release(out);
      device.releaseStream(s);
    }
  }

  private static void copyIn(GpuDevice.Stream s, CUdeviceptr device, long offset, long bytes) {
    if (bytes > 0) {
      Cuda.check(cuMemcpyHtoDAsync(device.withByteOffset(offset), s.pinned.withByteOffset(offset), bytes, s.stream),
          "cuMemcpyHtoDAsync", "offset", offset, "bytes", bytes);
    }
  }

  private static void copyOut(GpuDevice.Stream s, CUdeviceptr device, long pinnedBase, long offset, long bytes) {
    if (bytes > 0) {
      Cuda.check(cuMemcpyDtoHAsync(s.pinned.withByteOffset(pinnedBase + offset), device.withByteOffset(offset), bytes,
          s.copyOut), "cuMemcpyDtoHAsync", "offset", offset, "bytes", bytes);
    }
  }

  /** Copies rows into the pinned staging buffer: packed bytes as they are, else fp32 values. */
  private static void stage(ByteBuffer staging, List<LaunchPlan.Copy> copies, long baseRow, int d, boolean direct) {
    FloatBuffer floats = direct ? null : staging.asFloatBuffer();
    for (LaunchPlan.Copy c : copies) {
      if (direct) {
        int rowBytes = d * 2;
        ByteBuffer target = staging.duplicate();
        target.position(Math.toIntExact((baseRow + c.deviceRow()) * rowBytes));
        target.put(c.packed().bytes(), c.packed().vectorOffset(c.vector()) + c.sourceRow() * rowBytes, c.rows() * rowBytes);
      } else {
        floats.position(Math.toIntExact((baseRow + c.deviceRow()) * d));
        floats.put(c.source().get(), c.sourceRow() * d, c.rows() * d);
      }
    }
  }

  /** fp32 values {@code [first, first+n)} of {@code in} to 16 bits in {@code out}, on the copy-in stream. */
  private void convert(GpuDevice.Stream s, Precision precision, CUdeviceptr in, CUdeviceptr out, long first, long n) {
    if (n <= 0) {
      return;
    }
    String name = precision == Precision.FP16 ? "flashspark_f32_to_fp16" : "flashspark_f32_to_bf16";
    int perBlock = device.config.get(name, "elems_per_block");
    int grid = (int) Math.max(1, Math.min((n + perBlock - 1) / perBlock, 65535));
    Pointer params = Pointer.to(Pointer.to(in.withByteOffset(first * 4)), Pointer.to(out.withByteOffset(first * 2)),
        Pointer.to(new long[] {n}));
    Cuda.check(cuLaunchKernel(device.function(name), grid, 1, 1, device.config.get(name, "threads"), 1, 1, 0,
        s.stream, params, null), "cuLaunchKernel", "kernel", name, "values", n);
  }
}
