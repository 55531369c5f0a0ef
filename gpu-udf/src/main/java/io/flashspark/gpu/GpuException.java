package io.flashspark.gpu;

/** A CUDA failure or an unusable GPU, with the call and the sizes involved. */
public final class GpuException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final boolean sticky;

  public GpuException(String message) {
    this(message, false);
  }

  /** {@code sticky}: a fault that leaves the device context unusable (see {@link Cuda#isSticky}). */
  GpuException(String message, boolean sticky) {
    super(message);
    this.sticky = sticky;
  }

  /** Whether the context this happened in is corrupted: every later call in it would fail too. */
  public boolean sticky() {
    return sticky;
  }

  public GpuException(String message, Throwable cause) {
    super(message, cause);
    this.sticky = false;
  }
}
