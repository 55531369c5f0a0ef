package io.flashspark.job;

/** Bad input or bad arguments: reported to the user as one clear message, exit code 2. */
public final class InputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Opens the message of an exception that an executor throws for bad input it finds while
   * computing (e.g. a position given twice across input partitions); Spark wraps it in a job
   * failure, and {@link #fromJobFailure} turns it back into bad input on the driver.
   */
  static final String MARKER = "flashspark-bad-input: ";

  public InputException(String message) {
    super(message);
  }

  /**
   * Throws the bad input an executor reported inside {@code failure}, else {@code failure} itself,
   * unchanged (Spark's job failures are checked exceptions thrown from Scala code). Returns
   * nothing; typed so that callers can write {@code throw rethrow(e)}.
   */
  static RuntimeException rethrow(Exception failure) {
    InputException bad = fromJobFailure(failure);
    if (bad != null) {
      throw bad;
    }
    throw InputException.<RuntimeException>unchecked(failure);
  }

  @SuppressWarnings("unchecked")
  private static <T extends Exception> T unchecked(Exception e) throws T {
    throw (T) e;
  }

  /** The bad input an executor reported inside {@code failure}, or null. */
  static InputException fromJobFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String m = t.getMessage();
      int at = m == null ? -1 : m.indexOf(MARKER);
      if (at >= 0) {
        String rest = m.substring(at + MARKER.length());
        int end = rest.indexOf('\n');
        return new InputException("invalid input rows; nothing was written: " + (end < 0 ? rest : rest.substring(0, end)));
      }
    }
    return null;
  }
}
