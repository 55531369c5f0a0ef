package io.flashspark.job;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} and {@code --flag} arguments, checked against what a command accepts. */
final class Args {
  private final String command;
  private final Map<String, String> values = new HashMap<>();

  Args(String command, String[] args, int from, Set<String> options, Set<String> flags) {
    this.command = command;
    for (int i = from; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new InputException(command + ": unexpected argument '" + a + "'");
      }
      String name = a.substring(2);
      String inline = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        inline = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (flags.contains(name)) {
        values.put(name, "true");
      } else if (options.contains(name)) {
        if (inline == null && i + 1 >= args.length) {
          throw new InputException(command + ": --" + name + " needs a value");
        }
        values.put(name, inline != null ? inline : args[++i]);
      } else {
        throw new InputException(command + ": unknown option --" + name);
      }
    }
  }

  String required(String name) {
    String v = values.get(name);
    if (v == null) {
      throw new InputException(command + ": --" + name + " is required");
    }
    return v;
  }

  String get(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  boolean flag(String name) {
    return values.containsKey(name);
  }

  /** An integer option within {@code [min, max]}; {@code fallback} when absent. */
  long getLong(String name, long fallback, long min, long max) {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    long x;
    try {
      x = Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new InputException(command + ": --" + name + " must be an integer, got '" + v + "'");
    }
    if (x < min || x > max) {
      throw new InputException(command + ": --" + name + " must be " + range(min, max) + ", got " + x);
    }
    return x;
  }

  int getInt(String name, int fallback, int min, int max) {
    return (int) getLong(name, fallback, min, max);
  }

  /** A finite number above zero; {@code fallback} when absent. NaN and infinities are refused. */
  double getPositiveDouble(String name, double fallback) {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    double x;
    try {
      x = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new InputException(command + ": --" + name + " must be a number, got '" + v + "'");
    }
    if (!(x > 0) || !Double.isFinite(x)) {
      throw new InputException(command + ": --" + name + " must be a finite number above 0, got " + v);
    }
    return x;
  }

  private static String range(long min, long max) {
    if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) {
      return "at least " + min;
    }
    return "between " + min + " and " + max;
  }

  /** One of {@code allowed}, parsed; null when absent and {@code fallback} is null. */
  <T> T choice(String name, String fallback, List<String> allowed, java.util.function.Function<String, T> parse) {
    String v = get(name, fallback);
    if (v == null) {
      return null;
    }
    if (!allowed.contains(v)) {
      throw new InputException(command + ": --" + name + " must be one of " + String.join("|", allowed)
          + ", got '" + v + "'");
    }
    return parse.apply(v);
  }
}
