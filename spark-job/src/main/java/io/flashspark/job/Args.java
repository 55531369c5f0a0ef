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

  long getLong(String name, long fallback) {
    String v = values.get(name);
    try {
      return v == null ? fallback : Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new InputException(command + ": --" + name + " must be an integer, got '" + v + "'");
    }
  }

  int getInt(String name, int fallback) {
    long v = getLong(name, fallback);
    if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
      throw new InputException(command + ": --" + name + " is out of range: " + v);
    }
    return (int) v;
  }

  double getDouble(String name, double fallback) {
    String v = values.get(name);
    try {
      return v == null ? fallback : Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new InputException(command + ": --" + name + " must be a number, got '" + v + "'");
    }
  }

  <T> T choice(String name, String fallback, List<String> allowed, java.util.function.Function<String, T> parse) {
    String v = get(name, fallback);
    if (!allowed.contains(v)) {
      throw new InputException(command + ": --" + name + " must be one of " + String.join("|", allowed)
          + ", got '" + v + "'");
    }
    return parse.apply(v);
  }
}
