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

  /** The message naming a table's bad rows (up to 10 problems, one line each). */
  static String invalidRows(String table, java.util.List<String> problems) {
    return "table '" + table + "' has invalid rows; nothing was written:\n  " + String.join("\n  ", problems);
  }

  /**
   * Bad input found in a task, with a message of several lines: marked, and kept on one line
   * (Spark's job failure carries the task's exception as text, of which the driver reads one line).
   */
  static InputException inTask(String message) {
    return new InputException(MARKER + WHOLE + message.replace("\\", "\\\\").replace("\n", "\\n"));
  }

  /** After {@link #MARKER}: the message is whole (from {@link #inTask}), not a part to prefix. */
  private static final String WHOLE = "whole: ";

  private static String unescaped(String line) {
    StringBuilder out = new StringBuilder(line.length());
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\' && i + 1 < line.length()) {
        char next = line.charAt(++i);
        out.append(next == 'n' ? '\n' : next);
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** The bad input an executor reported inside {@code failure}, or null. */
  static InputException fromJobFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String m = t.getMessage();
      int at = m == null ? -1 : m.indexOf(MARKER);
      if (at >= 0 && m.startsWith(WHOLE, at + MARKER.length())) {
        String rest = m.substring(at + MARKER.length() + WHOLE.length());
        int end = rest.indexOf('\n');
        return new InputException(unescaped(end < 0 ? rest : rest.substring(0, end)));
      }
      if (at >= 0) {
        String rest = m.substring(at + MARKER.length());
        int end = rest.indexOf('\n');
        return new InputException("invalid input rows; nothing was written: " + (end < 0 ? rest : rest.substring(0, end)));
      }
    }
    return null;
  }
}
