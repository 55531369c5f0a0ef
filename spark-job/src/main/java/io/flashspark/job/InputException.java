package io.flashspark.job;

/** Bad input or bad arguments: reported to the user as one clear message, exit code 2. */
public final class InputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InputException(String message) {
    super(message);
  }
}
