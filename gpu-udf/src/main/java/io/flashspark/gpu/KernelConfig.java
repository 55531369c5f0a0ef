package io.flashspark.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The kernels' launch configuration ({@code kernels.properties}, written beside the fatbin by
 * kernels/build.sh) and the fatbin itself, read from the kernels jar.
 */
final class KernelConfig {
  static final String RESOURCE_DIR = "/io/flashspark/kernels/";
  private final Properties properties;

  private KernelConfig(Properties properties) {
    this.properties = properties;
  }

  static KernelConfig load() {
    Properties p = new Properties();
    try (InputStream in = KernelConfig.class.getResourceAsStream(RESOURCE_DIR + "kernels.properties")) {
      if (in == null) {
        throw new GpuException("no GPU kernels were built into this jar (kernels.properties missing: the build"
            + " machine had no nvcc); rebuild with nvcc on the PATH or use --backend cpu");
      }
      p.load(in);
    } catch (IOException e) {
      throw new GpuException("cannot read kernels.properties", e);
    }
    return new KernelConfig(p);
  }

  static byte[] fatbin() {
    try (InputStream in = KernelConfig.class.getResourceAsStream(RESOURCE_DIR + "flashspark.fatbin")) {
      if (in == null) {
        throw new GpuException("no GPU kernels were built into this jar (flashspark.fatbin missing: the build"
            + " machine had no nvcc); rebuild with nvcc on the PATH or use --backend cpu");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new GpuException("cannot read flashspark.fatbin", e);
    }
  }

  boolean has(String kernel) {
    return properties.containsKey(kernel + ".threads");
  }

  boolean has(String kernel, String key) {
    return properties.containsKey(kernel + "." + key);
  }

  /**
   * A launch value for a GPU of the given compute capability: {@code key} (what the sm_90a cubin
   * needs) on 9.x, {@code key_fallback} elsewhere when the kernel has one (the sm_80 cubin or the
   * PTX JIT run the mma.sync loop: fewer threads, less shared memory).
   */
  int forDevice(String kernel, String key, int computeCapabilityMajor) {
    if (computeCapabilityMajor != 9 && has(kernel, key + "_fallback")) {
      return get(kernel, key + "_fallback");
    }
    return get(kernel, key);
  }

  int get(String kernel, String key) {
    String v = properties.getProperty(kernel + "." + key);
    if (v == null) {
      throw new GpuException("kernels.properties has no " + kernel + "." + key);
    }
    return Integer.parseInt(v.trim());
  }
}
