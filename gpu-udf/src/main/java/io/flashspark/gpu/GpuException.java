package io.flashspark.gpu;

/** A CUDA failure or an unusable GPU, with the call and the sizes involved. */
public final class GpuException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public GpuException(String message) {
    super(message);
  }

  public GpuException(String message, Throwable cause) {
    super(message, cause);
  }
}
