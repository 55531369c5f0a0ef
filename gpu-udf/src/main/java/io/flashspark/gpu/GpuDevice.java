package io.flashspark.gpu;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostRegister;
import static jcuda.driver.JCudaDriver.cuMemHostUnregister;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuStreamCreate;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * One GPU as this JVM uses it: the device's primary context (shared with other CUDA users in the
 * process, e.g. RAPIDS), the kernels module loaded once, a device-memory pool, and a set of
 * streams each with its own pinned staging buffer, handed to one concurrent task at a time.
 */
final class GpuDevice {
  private static final Map<Integer, GpuDevice> OPEN = new ConcurrentHashMap<>();

  static {
    JCudaNatives.prepare(); // before anything here touches JCuda
  }

  final int ordinal;
  final String name;
  final KernelConfig config;
  final int computeCapabilityMajor;
  /** Streaming multiprocessors (persistent launches size their grid by them). */
  final int multiprocessors;
  /** The device's memory in bytes (cuDeviceTotalMem). */
  final long totalMemory;
  final DeviceMemoryPool pool = new DeviceMemoryPool();
  private final CUcontext context = new CUcontext();
  private final CUmodule module = new CUmodule();
  private final Map<String, CUfunction> functions = new HashMap<>();
  private final ConcurrentLinkedQueue<Stream> streams = new ConcurrentLinkedQueue<>();

  /**
   * Query chunks of one launch whose events may be alive at once (see StagedLaunch: chunk c
   * uploads and computes while chunk c-1 comes back); events are reused modulo this, which is also
   * the fewest chunks a launch is cut into, so that copies overlap kernels.
   */
  static final int CHUNKS_IN_FLIGHT = 4;

  /**
   * Staging rings are Java direct memory registered with the driver ({@code cuMemHostRegister}),
   * falling back to the driver's own pinned allocations ({@code cuMemAllocHost}) where Java's
   * direct-memory budget is spent; {@code -Dflashspark.gpu.registeredRings=false} always takes the
   * driver's. Default since session 24 (one H100, 1M-token job: score 6.80-9.44 s against
   * 7.75-10.38 s in five alternated pairs, the first two tasks' reads done after 0.4-1.0 s against 1.0-1.8 s;
   * every GPU test passed both ways).
   */
  static final boolean REGISTERED_RINGS =
      Boolean.parseBoolean(System.getProperty("flashspark.gpu.registeredRings", "true"));
  /** Slots of a stream's pinned staging ring (StagedLaunch: two for uploads, then two for downloads). */
  static final int RING_SLOTS = 4;

  /**
   * What one concurrent task uses: a copy-in stream ({@code stream}), a compute stream and a
   * copy-out stream, so that one chunk's copies overlap another chunk's kernel; per chunk in flight
   * the events that order them and time the kernels; a pinned staging ring grown on demand, and
   * per ring slot an event marking the end of the last copy that used it.
   */
  final class Stream {
    final CUstream stream = new CUstream();
    final CUstream compute = new CUstream();
    final CUstream copyOut = new CUstream();
    final CUevent[] uploaded = events(CHUNKS_IN_FLIGHT, CUevent_flags.CU_EVENT_DISABLE_TIMING);
    final CUevent[] computed = events(CHUNKS_IN_FLIGHT, 0); // also ends the chunk's kernel timing
    final CUevent[] kernelStart = events(CHUNKS_IN_FLIGHT, 0);
    final CUevent[] slotDone = events(RING_SLOTS,
        CUevent_flags.CU_EVENT_DISABLE_TIMING | CUevent_flags.CU_EVENT_BLOCKING_SYNC);
    Pointer pinned;
    long capacity;
    private ByteBuffer registered; // the ring where it is Java's direct memory, registered with the driver

    Stream() {
      for (CUstream s : new CUstream[] {stream, compute, copyOut}) {
        Cuda.check(cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
      }
    }

    private CUevent[] events(int n, int flags) {
      CUevent[] out = new CUevent[n];
      for (int i = 0; i < n; i++) {
        out[i] = new CUevent();
        Cuda.check(cuEventCreate(out[i], flags), "cuEventCreate");
      }
      return out;
    }

    /** The staging buffer, at least {@code bytes} long, as a little-endian view. */
    ByteBuffer staging(long bytes) {
      if (bytes > Integer.MAX_VALUE - (64L << 20)) {
        throw new GpuException("a staging ring of " + bytes + " bytes asked for, more than 2 GiB"
            + " (flashspark.gpu.stagingSlotBytes too large)");
      }
      if (bytes > capacity) {
        freeRing();
        // powers of two up to 1 GiB, then whole 64 MiB steps: a Java buffer view stops at 2 GiB
        long size = bytes <= (1L << 30) ? DeviceMemoryPool.sizeClass(bytes) : ((bytes + (64L << 20) - 1) >> 26) << 26;
        ByteBuffer ring = REGISTERED_RINGS ? DirectMemory.allocate(size) : null;
        if (ring != null) {
          // zeroed by Java, by page faults that share the address space's lock with every other
          // thread's; cuMemAllocHost maps and clears its pages holding that lock alone, and eight cells
          // pinning their rings so held up the page faults of all 16 threads reading their blocks
          // (1M-token job on one H100: the first reads at 22-61 % CPU, 40-67 ms stalls in reads of
          // cached files, session 22); registering only pins pages that are already there
          Pointer p = Pointer.to(ring);
          int rc = cuMemHostRegister(p, size, 0);
          if (rc != CUresult.CUDA_SUCCESS) {
            DirectMemory.free(ring);
            Cuda.check(rc, "cuMemHostRegister", "bytes", size);
          }
          registered = ring;
          pinned = p;
        } else {
          Pointer p = new Pointer();
          Cuda.check(cuMemAllocHost(p, size), "cuMemAllocHost", "bytes", size);
          pinned = p;
        }
        capacity = size;
      }
      // JCuda makes views only of its own allocations (null for a registered buffer's pointer)
      ByteBuffer view = registered != null ? registered.slice(0, Math.toIntExact(bytes)) : pinned.getByteBuffer(0, bytes);
      return view.order(ByteOrder.LITTLE_ENDIAN);
    }

    private void freeRing() {
      if (registered != null) {
        Cuda.check(cuMemHostUnregister(pinned), "cuMemHostUnregister");
        DirectMemory.free(registered);
        registered = null;
      } else if (pinned != null) {
        Cuda.check(cuMemFreeHost(pinned), "cuMemFreeHost");
      }
      pinned = null;
      capacity = 0;
    }
  }

  private GpuDevice(int ordinal) {
    this.ordinal = ordinal;
    this.config = KernelConfig.load();
    JCudaDriver.setExceptionsEnabled(false);
    Cuda.check(cuInit(0), "cuInit");
    int[] count = new int[1];
    Cuda.check(cuDeviceGetCount(count), "cuDeviceGetCount");
    if (ordinal < 0 || ordinal >= count[0]) {
      throw new GpuException("GPU " + ordinal + " requested but this machine has " + count[0] + " CUDA device(s)");
    }
    CUdevice device = new CUdevice();
    Cuda.check(cuDeviceGet(device, ordinal), "cuDeviceGet", "ordinal", ordinal);
    byte[] nameBytes = new byte[256];
    Cuda.check(cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
    int len = 0;
    while (len < nameBytes.length && nameBytes[len] != 0) {
      len++;
    }
    this.name = new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
    int[] major = new int[1];
    Cuda.check(cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
        "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
    this.computeCapabilityMajor = major[0];
    int[] sms = new int[1];
    Cuda.check(cuDeviceGetAttribute(sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device),
        "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)");
    this.multiprocessors = sms[0];
    long[] total = new long[1];
    Cuda.check(JCudaDriver.cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
    this.totalMemory = total[0];
    Cuda.check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain", "ordinal", ordinal);
    makeCurrent();
    byte[] fatbin = KernelConfig.fatbin();
    Cuda.check(cuModuleLoadData(module, fatbin), "cuModuleLoadData", "fatbin bytes", fatbin.length, "device", name);
  }

  static GpuDevice open(int ordinal) {
    return OPEN.computeIfAbsent(ordinal, GpuDevice::new);
  }

  /**
   * After a sticky fault: forgets this device and resets its primary context, so the next task
   * opens a fresh context (module, pools, streams) instead of failing on the poisoned one.
   */
  void discard() {
    OPEN.remove(ordinal, this);
    CUdevice device = new CUdevice();
    if (cuDeviceGet(device, ordinal) == CUresult.CUDA_SUCCESS) {
      jcuda.driver.JCudaDriver.cuDevicePrimaryCtxReset(device); // result ignored: the fault is what gets reported
    }
  }

  /**
   * The device ordinal of a GPU address as Spark hands it to a task: an ordinal ("0"), or a UUID
   * ("GPU-8b2c…", as {@code nvidia-smi -L} prints it, matched against every visible device). A MIG
   * instance ("MIG-…") is addressed through {@code CUDA_VISIBLE_DEVICES}, which leaves the process
   * exactly one device: ordinal 0.
   */
  static int ordinalOf(String address) {
    String a = address.trim();
    if (a.matches("\\d+")) {
      return Integer.parseInt(a);
    }
    JCudaDriver.setExceptionsEnabled(false);
    Cuda.check(cuInit(0), "cuInit");
    int[] count = new int[1];
    Cuda.check(cuDeviceGetCount(count), "cuDeviceGetCount");
    if (a.startsWith("MIG-")) {
      if (count[0] == 1) {
        return 0;
      }
      throw new GpuException("GPU address " + a + " is a MIG instance but this process sees " + count[0]
          + " CUDA devices; give each executor its instance through CUDA_VISIBLE_DEVICES");
    }
    String wanted = a.startsWith("GPU-") ? a.substring(4) : a;
    for (int i = 0; i < count[0]; i++) {
      CUdevice device = new CUdevice();
      Cuda.check(cuDeviceGet(device, i), "cuDeviceGet", "ordinal", i);
      jcuda.driver.CUuuid uuid = new jcuda.driver.CUuuid();
      Cuda.check(JCudaDriver.cuDeviceGetUuid(uuid, device), "cuDeviceGetUuid", "ordinal", i);
      if (uuidString(uuid.bytes).equalsIgnoreCase(wanted)) {
        return i;
      }
    }
    throw new GpuException("GPU address " + a + " matches none of the " + count[0] + " visible CUDA devices");
  }

  /** 16 bytes as nvidia-smi prints a UUID: 8-4-4-4-12 hex digits. */
  static String uuidString(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 16; i++) {
      if (i == 4 || i == 6 || i == 8 || i == 10) {
        s.append('-');
      }
      s.append(String.format("%02x", b[i] & 0xff));
    }
    return s.toString();
  }

  /** Contexts are current per thread: every entry point calls this first. */
  void makeCurrent() {
    Cuda.check(cuCtxSetCurrent(context), "cuCtxSetCurrent", "device", ordinal);
  }

  synchronized CUfunction function(String kernel) {
    CUfunction f = functions.get(kernel);
    if (f == null) {
      if (!config.has(kernel)) {
        throw new GpuException("no GPU kernel named " + kernel + " was built");
      }
      f = new CUfunction();
      Cuda.check(cuModuleGetFunction(f, module, kernel), "cuModuleGetFunction", "kernel", kernel);
      int smem = sharedMemoryBytes(kernel);
      if (smem > 48 * 1024) {
        Cuda.check(cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
            "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", "kernel", kernel, "bytes", smem);
      }
      functions.put(kernel, f);
    }
    return f;
  }

  /**
   * Dynamic shared memory of a launch: {@code smem_bytes} for compute capability 9.x (the wgmma
   * path), {@code smem_bytes_fallback} on other GPUs (the mma.sync path) when given.
   */
  int sharedMemoryBytes(String kernel) {
    return config.forDevice(kernel, "smem_bytes", computeCapabilityMajor);
  }

  /**
   * Threads per CTA of a launch: {@code threads} for compute capability 9.x (the warp-specialised
   * wgmma path runs a loader warpgroup beside the compute ones), {@code threads_fallback} on other
   * GPUs when given.
   */
  int threads(String kernel) {
    return config.forDevice(kernel, "threads", computeCapabilityMajor);
  }

  private final Map<String, Integer> residentCtas = new HashMap<>();

  /**
   * CTAs of a launch over {@code numTiles} work tiles: one per tile, or, for a kernel launched
   * persistent on this GPU ({@code persistent}), at most as many as are resident at once (each takes
   * one tile per round of {@code grid} tiles; more CTAs would only queue behind the first wave).
   */
  synchronized int grid(String kernel, int numTiles) {
    if (!config.has(kernel, "persistent") || config.forDevice(kernel, "persistent", computeCapabilityMajor) == 0) {
      return numTiles;
    }
    int perSm = residentCtas.computeIfAbsent(kernel, k -> {
      int[] blocks = new int[1];
      Cuda.check(JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, function(k), threads(k),
          sharedMemoryBytes(k)), "cuOccupancyMaxActiveBlocksPerMultiprocessor", "kernel", k);
      return Math.max(1, blocks[0]);
    });
    return LaunchPlan.persistentGrid(numTiles, multiprocessors, perSm);
  }

  Stream acquireStream() {
    Stream s = streams.poll();
    return s != null ? s : new Stream();
  }

  void releaseStream(Stream s) {
    streams.add(s);
  }
}
