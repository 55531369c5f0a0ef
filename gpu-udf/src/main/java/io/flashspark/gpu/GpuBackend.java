package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;

import io.flashspark.attention.AttentionBackend;
import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.Partial;
import io.flashspark.attention.Precision;
import io.flashspark.attention.QueryBlock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * The GPU backend: the tiled FlashAttention kernel (kernels/src/flash_fwd.cu) launched through
 * the JCuda driver API. One call is one forward launch over all of its problems
 * ({@link LaunchPlan}; several when they need more device memory than a launch may take), run by
 * {@link StagedLaunch}: inputs that come packed in the launch's 16-bit precision
 * ({@link io.flashspark.attention.PackedRows}, as the Spark job ships them) are copied byte for
 * byte through a small pinned ring to the device, where K and V stay while the query chunks
 * stream through; other inputs are staged as fp32 and converted to bf16/fp16 on the device. The
 * fp32 outputs (o, m, l) come back through the same ring.
 * Reached only through {@link io.flashspark.attention.Backends}, so a JVM that never asks never
 * loads CUDA. After a sticky CUDA fault the device's context is reset and the backend forgotten,
 * so later tasks start on a fresh context instead of failing on the poisoned one.
 */
public final class GpuBackend implements AttentionBackend {
  private static final Map<Integer, GpuBackend> BACKENDS = new ConcurrentHashMap<>();
  private static final Map<Integer, String> UNUSABLE = new ConcurrentHashMap<>();
  private static final int NAN_BITS = 0x7fc00000;
  /**
   * Device memory one launch may take (flashspark.gpu.maxLaunchBytes; default half the GPU's
   * memory): a call whose K, V, Q and outputs need more is cut into several launches.
   */
  private static final Long MAX_LAUNCH_BYTES = Long.getLong("flashspark.gpu.maxLaunchBytes");
  /** Bytes of each of the four pinned ring slots a launch streams through (default 64 MiB). */
  static final long STAGING_SLOT_BYTES = Long.getLong("flashspark.gpu.stagingSlotBytes", 64L << 20);
  /** Query rows' device bytes (Q in, o/m/l out) per pipelined chunk, at least four chunks (256 MiB). */
  static final long CHUNK_BYTES = Long.getLong("flashspark.gpu.chunkBytes", 256L << 20);
  private static final ThreadLocal<long[]> LAST_KERNEL_NANOS = ThreadLocal.withInitial(() -> new long[1]);
  /** This thread's last call's first launch: {plan built, keys and values staged, first chunk's kernel issued, first partial delivered}, nanoseconds from the call's start. */
  private static final ThreadLocal<long[]> LAST_STARTUP = ThreadLocal.withInitial(() -> new long[4]);
  /** How long this thread spent warming the launch planner up in {@link #prepare} (null: it did not). */
  private static final ThreadLocal<Long> PLANNER_WARM_UP_MILLIS = new ThreadLocal<>();
  /** What {@link #prepare} took for this thread's next launch. */
  private static final ThreadLocal<StagedLaunch.Reservation> RESERVED = new ThreadLocal<>();

  private final GpuDevice device;
  private final boolean poisonOutputs;
  private final long slotBytes;
  private final long chunkBytes;

  private GpuBackend(GpuDevice device, boolean poisonOutputs, long slotBytes, long chunkBytes) {
    this.device = device;
    this.poisonOutputs = poisonOutputs;
    this.slotBytes = slotBytes;
    this.chunkBytes = chunkBytes;
  }

  /**
   * The same device, filling every launch's outputs with NaN before the kernel runs, so a row the
   * kernel fails to write shows up (tests).
   */
  public GpuBackend poisoningOutputs() {
    return new GpuBackend(device, true, slotBytes, chunkBytes);
  }

  public boolean poisonsOutputs() {
    return poisonOutputs;
  }

  /**
   * The same device streaming through pinned slots of {@code slotBytes} and query chunks of
   * {@code chunkBytes} of device rows: tiny values make every copy straddle slots and every launch
   * many chunks (tests of the staging, which must not change a bit of the results).
   */
  public GpuBackend staging(long slotBytes, long chunkBytes) {
    return new GpuBackend(device, poisonOutputs, slotBytes, chunkBytes);
  }

  /** The device memory one launch may take. */
  long maxLaunchBytes() {
    return MAX_LAUNCH_BYTES != null ? MAX_LAUNCH_BYTES : device.totalMemory / 2;
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
      return BACKENDS.computeIfAbsent(ordinal, o -> new GpuBackend(GpuDevice.open(o), false, STAGING_SLOT_BYTES, CHUNK_BYTES));
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

  @Override public String lastStartup() {
    long[] t = LAST_STARTUP.get();
    Long warmUp = PLANNER_WARM_UP_MILLIS.get();
    return t[1] == 0 ? null : String.format(java.util.Locale.ROOT,
        "launch planned after %d ms, the first chunk's keys and values staged after %d ms, first chunk's kernel issued after %d ms,"
            + " first partial out after %d ms%s", t[0] / 1_000_000, t[1] / 1_000_000, t[2] / 1_000_000, t[3] / 1_000_000,
        warmUp == null ? "" : " (the planner warmed up in " + warmUp + " ms while the blocks were read)");
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
    Partial[] out = new Partial[queries.size()];
    attend(queries, kvs, spec, (i, p) -> out[i] = p);
    return java.util.Arrays.asList(out);
  }

  /**
   * Partials go to {@code sink} chunk by chunk, as each pipelined query chunk comes off the
   * device (queries of a launch are chunked in order), so the caller can write early query blocks
   * while later ones compute.
   */
  @Override public void attend(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec,
      PartialSink sink) {
    Precision precision = spec.precision() == null ? Precision.BF16 : spec.precision();
    if (precision == Precision.FP32) {
      throw new GpuException("the GPU kernels take bf16 or fp16 inputs (fp32 accumulation); use --precision bf16"
          + " or fp16 with the GPU, or --backend cpu for fp32 inputs");
    }
    if (queries.isEmpty()) {
      return;
    }
    int dim = queries.get(0).dim();
    String kernelName = forwardKernel(precision, dim, spec.causal());
    if (!device.config.has(kernelName)) {
      throw new GpuException("no GPU kernel for head dimension " + dim + " (" + kernelName + " not built);"
          + " use --backend cpu");
    }
    int blockM = device.config.get(kernelName, "block_m");
    long kernelNanos = 0;
    long callStart = System.nanoTime();
    long[] startup = LAST_STARTUP.get();
    java.util.Arrays.fill(startup, 0);
    for (int[] range : launchGroups(queries, kvs, dim, maxLaunchBytes())) {
      List<QueryBlock> q = queries.subList(range[0], range[1]);
      LaunchPlan plan = LaunchPlan.build(q, kvs.subList(range[0], range[1]), spec.causal(), blockM);
      if (startup[0] == 0) {
        startup[0] = System.nanoTime() - callStart;
      }
      int first = range[0];
      if (plan.numTiles() == 0) {
        List<Partial> empty = plan.emptyPartials(q); // no row sees a key: nothing to launch
        for (int i = 0; i < empty.size(); i++) {
          sink.accept(first + i, empty.get(i));
        }
        continue;
      }
      try {
        long[] nanos = new long[StagedLaunch.TIMES]; // kernels, then the host's times of the launch's phases
        StagedLaunch.run(device, plan, q, precision, kernelName, (float) spec.scaleFor(dim), poisonOutputs,
            slotBytes, chunkBytes, nanos, RESERVED.get(), (i, p) -> sink.accept(first + i, p));
        kernelNanos += nanos[0];
        if (startup[1] == 0) {
          for (int p = 1; p < StagedLaunch.TIMES; p++) {
            startup[p] = nanos[p] - callStart;
          }
        }
      } catch (GpuException e) {
        if (e.sticky()) {
          BACKENDS.remove(device.ordinal);
          device.discard();
          throw new GpuException(e.getMessage() + "; the device context was reset, later tasks open a fresh one", e);
        }
        throw e;
      }
    }
    LAST_KERNEL_NANOS.get()[0] = kernelNanos;
  }

  /**
   * Takes this device's stream, pinned ring and launch buffers for a call of {@code queryRows}
   * against {@code keyRows} on this thread ahead of it (see {@link StagedLaunch.Reservation}).
   * Nothing where the call would not run one launch of this size here, or where the device cannot
   * give it now (the call then allocates, and reports, as it would have).
   */
  @Override public Prepared prepare(int dim, long queryRows, long keyRows, AttentionSpec spec) {
    Precision precision = spec.precision() == null ? Precision.BF16 : spec.precision();
    if (precision == Precision.FP32 || queryRows <= 0 || keyRows <= 0
        || !device.config.has(forwardKernel(precision, dim, spec.causal()))
        || StagedLaunch.inputBytes(dim, queryRows, keyRows) + StagedLaunch.outputBytes(dim, queryRows)
            > maxLaunchBytes()) {
      return Prepared.NONE;
    }
    StagedLaunch.Reservation reserved;
    try {
      reserved = StagedLaunch.reserve(device, dim, queryRows, keyRows, slotBytes);
    } catch (GpuException e) {
      return Prepared.NONE;
    }
    StagedLaunch.Reservation previous = RESERVED.get();
    RESERVED.set(reserved);
    if (previous != null) {
      previous.release();
    }
    // the caller's blocks are still being read: compile the planner before the first cell needs it
    long warmUp = LaunchPlan.warmUp(256, 2);
    if (warmUp >= 0) {
      PLANNER_WARM_UP_MILLIS.set(warmUp);
    }
    return () -> {
      if (RESERVED.get() == reserved) {
        RESERVED.remove();
      }
      reserved.release();
    };
  }

  /**
   * Consecutive ranges of the call's problems, each small enough for one launch: its device
   * memory (16-bit query rows with their fp32 outputs and causal limits, plus each distinct
   * key/value block once, in 16 bits: what {@link StagedLaunch} allocates) within {@code limit}
   * bytes. A single problem over the limit is refused with advice.
   */
  static List<int[]> launchGroups(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, int dim, long limit) {
    List<int[]> groups = new ArrayList<>();
    int start = 0;
    long bytes = 0;
    Set<KeyValueBlock> staged = Collections.newSetFromMap(new IdentityHashMap<>());
    for (int i = 0; i < queries.size(); i++) {
      long add = (long) queries.get(i).rows() * (2L * dim + (dim + 2L) * 4 + 4) + 64; // q in, o/m/l out, limits
      List<KeyValueBlock> fresh = new ArrayList<>();
      for (KeyValueBlock kv : kvs.get(i)) {
        if (!staged.contains(kv)) {
          fresh.add(kv);
          add += (long) kv.rows() * dim * 4;
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
        throw new GpuException("one query block with its keys needs " + add + " bytes of device memory in one"
            + " launch, over the " + limit + "-byte limit (flashspark.gpu.maxLaunchBytes, default half the GPU's"
            + " memory): use a smaller --block-size or more, smaller KV shards (--max-kv-shard-mb)");
      }
      bytes += add;
      staged.addAll(fresh);
    }
    if (start < queries.size()) {
      groups.add(new int[] {start, queries.size()});
    }
    return groups;
  }

  /** {@code n} fp32 values at {@code in} to 16 bits at {@code out}, on the copy-in stream. */
  static void convert(GpuDevice device, GpuDevice.Stream s, Precision precision, CUdeviceptr in, CUdeviceptr out,
      long n) {
    if (n <= 0) {
      return;
    }
    String name = precision == Precision.FP16 ? "flashspark_f32_to_fp16" : "flashspark_f32_to_bf16";
    int perBlock = device.config.get(name, "elems_per_block");
    int grid = (int) Math.max(1, Math.min((n + perBlock - 1) / perBlock, 65535));
    Pointer params = Pointer.to(Pointer.to(in), Pointer.to(out), Pointer.to(new long[] {n}));
    Cuda.check(cuLaunchKernel(device.function(name), grid, 1, 1, device.threads(name), 1, 1, 0,
        s.stream, params, null), "cuLaunchKernel", "kernel", name, "values", n);
  }
}
