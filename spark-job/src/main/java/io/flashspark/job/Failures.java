package io.flashspark.job;

/**
 * One line that says what went wrong, for failures that are not the user's input (those are
 * {@link InputException}s): out of memory with the settings to raise, a lost executor, a GPU
 * failure, else the innermost cause's first line. The stack trace goes to the log.
 */
final class Failures {
  static final String MEMORY_ADVICE = "raise the heap (bin/flashspark: FLASHSPARK_JAVA_OPTS=-Xmx16g; spark-submit:"
      + " spark.executor.memory / spark.driver.memory) or lower --max-task-mb";

  private Failures() {}

  /**
   * What a computation on another thread failed with, to be rethrown as it was (bad input stays an
   * {@link InputException}); an Error is thrown here, a checked cause wrapped.
   */
  static RuntimeException unwrap(java.util.concurrent.ExecutionException e) {
    Throwable cause = e.getCause();
    if (cause instanceof RuntimeException r) {
      return r;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    return new IllegalStateException(cause);
  }

  static String describe(Throwable e) {
    Throwable root = e;
    Throwable gpu = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (gpu == null && t.getClass().getName().startsWith("io.flashspark.gpu")) {
        gpu = t; // says what the GPU backend could not do; its causes are JCuda's or the driver's details
      }
      if (t instanceof OutOfMemoryError || String.valueOf(t.getMessage()).contains("java.lang.OutOfMemoryError")) {
        return "out of memory: " + MEMORY_ADVICE;
      }
      if (String.valueOf(t.getMessage()).contains("ExecutorLostFailure")) {
        return "an executor was lost (" + firstLine(t) + "); if it ran out of memory, " + MEMORY_ADVICE;
      }
      root = t;
    }
    if (gpu != null) {
      return "GPU: " + firstLine(gpu);
    }
    return root.getClass().getSimpleName() + ": " + firstLine(root);
  }

  /** A file that is not Parquet (or a corrupt footer), seen when the schema is read or later in a task. */
  static boolean isNotParquet(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String msg = String.valueOf(t.getMessage());
      if (msg.contains("is not a Parquet file") || msg.contains("CANNOT_READ_FILE_FOOTER")
          || msg.contains("UNABLE_TO_INFER_SCHEMA") || msg.contains("Could not read footer")) {
        return true;
      }
    }
    return false;
  }

  static String firstLine(Throwable e) {
    String msg = String.valueOf(e.getMessage());
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }
}
