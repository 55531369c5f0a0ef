package io.flashspark.attention;

import java.lang.reflect.Method;
import java.util.Locale;

/**
 * Picks a backend by name. The GPU backend is reached by reflection so that a JVM which never
 * asks for it (the Spark driver, a laptop) never loads JCuda or touches CUDA.
 */
public final class Backends {
  private static final String GPU_CLASS = "io.flashspark.gpu.GpuBackend";

  private Backends() {}

  /** {@code cpu}, {@code gpu} (fails if no usable GPU) or {@code auto} (GPU when usable), default GPU. */
  public static AttentionBackend forName(String name) {
    return forName(name, -1);
  }

  /**
   * As {@link #forName(String)}, on GPU {@code gpuOrdinal} (-1: the default device, see
   * {@code GpuBackend.defaultOrdinal}).
   */
  public static AttentionBackend forName(String name, int gpuOrdinal) {
    return forName(name, gpuOrdinal < 0 ? null : Integer.toString(gpuOrdinal));
  }

  /**
   * As {@link #forName(String)}, on the GPU at Spark resource address {@code gpuAddress} (an
   * ordinal, a GPU UUID or a MIG instance; null: the default device).
   */
  public static AttentionBackend forName(String name, String gpuAddress) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "cpu":
        return CpuBackend.INSTANCE;
      case "gpu":
        return gpu(true, gpuAddress);
      case "auto": {
        AttentionBackend gpu = gpu(false, gpuAddress);
        return gpu != null ? gpu : CpuBackend.INSTANCE;
      }
      default:
        throw new IllegalArgumentException("unknown backend '" + name + "' (expected auto, cpu or gpu)");
    }
  }

  /** The shared GPU backend, or null (required=false) / an exception saying why it is unusable. */
  private static AttentionBackend gpu(boolean required, String gpuAddress) {
    try {
      Class<?> cls = Class.forName(GPU_CLASS);
      Method get = cls.getMethod(required ? "get" : "getIfUsable", String.class);
      return (AttentionBackend) get.invoke(null, gpuAddress);
    } catch (java.lang.reflect.InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      throw new IllegalStateException("GPU backend unusable: " + cause, cause);
    } catch (ReflectiveOperationException | LinkageError e) {
      if (required) {
        throw new IllegalStateException("GPU backend not on the classpath: " + e, e);
      }
      return null;
    }
  }
}
