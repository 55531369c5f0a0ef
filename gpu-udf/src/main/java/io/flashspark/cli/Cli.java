package io.flashspark.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * What every flashspark command line shares (picocli): exit codes, one-line errors that name the
 * command and the option, suggestions for mistyped options, and the value checks picocli leaves
 * to us (ranges, choices, counts such as {@code 4k}).
 */
public final class Cli {
  public static final int EXIT_OK = 0;
  /** Any failure that is not the user's input: I/O, cluster, out of memory, a check that found a mismatch. */
  public static final int EXIT_FAILED = 1;
  /** Bad arguments or bad input, reported before anything is written. */
  public static final int EXIT_BAD_INPUT = 2;

  private Cli() {}

  /**
   * A command line writing to {@code out}/{@code err}, options matched exactly (no abbreviations; a
   * repeated option takes its last value),
   * defaults shown in {@code --help}, and bad arguments reported as one line (exit 2).
   */
  public static CommandLine commandLine(Object command, PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    cl.setAbbreviatedOptionsAllowed(false);
    cl.setAbbreviatedSubcommandsAllowed(false);
    cl.setOverwrittenOptionsAllowed(true); // the last one counts, so a script can append an override
    cl.setParameterExceptionHandler((ex, args) -> {
      err.println("flashspark: error: " + describe(ex));
      err.println("flashspark: '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' lists the"
          + " options and their defaults");
      return EXIT_BAD_INPUT;
    });
    return cl;
  }

  /** A bad argument as one sentence naming the command, with picocli's suggestions for a typo. */
  static String describe(ParameterException ex) {
    CommandLine where = ex.getCommandLine();
    String command = where.getCommandName();
    if (ex instanceof UnmatchedArgumentException u) {
      List<String> unmatched = u.getUnmatched();
      String first = unmatched.isEmpty() ? "" : unmatched.get(0);
      List<String> suggestions = u.getSuggestions();
      String hint = suggestions.isEmpty() ? "" : "; did you mean " + String.join(" or ", suggestions) + "?";
      if (where.getParent() == null && !where.getSubcommands().isEmpty() && !first.startsWith("-")) {
        return "unknown command '" + first + "' (commands: " + String.join(", ", where.getSubcommands().keySet())
            + ")" + hint;
      }
      return command + ": " + (first.startsWith("-") ? "unknown option '" : "unexpected argument '") + first + "'"
          + hint;
    }
    boolean dispatcher = where.getParent() == null && !where.getSubcommands().isEmpty(); // "flashspark" itself
    return (dispatcher ? "" : command + ": ") + ex.getMessage();
  }

  /** {@code value} when within {@code [min, max]}; otherwise a bad argument naming {@code option}. */
  public static long inRange(CommandSpec spec, String option, long value, long min, long max) {
    if (value < min || value > max) {
      String range = max == Long.MAX_VALUE || max == Integer.MAX_VALUE ? "at least " + min
          : "between " + min + " and " + max;
      throw new ParameterException(spec.commandLine(), option + " must be " + range + ", got " + value);
    }
    return value;
  }

  /** {@code value} when it is one of {@code allowed} (or null: not given). */
  public static String oneOf(CommandSpec spec, String option, String value, List<String> allowed) {
    if (value != null && !allowed.contains(value)) {
      throw new ParameterException(spec.commandLine(), option + " must be one of " + String.join("|", allowed)
          + ", got '" + value + "'");
    }
    return value;
  }

  /** A finite number above zero, or NaN when not given (null). */
  public static double positive(CommandSpec spec, String option, Double value) {
    if (value == null) {
      return Double.NaN;
    }
    if (!(value > 0 && Double.isFinite(value))) {
      throw new ParameterException(spec.commandLine(), option + " must be a finite number above 0, got " + value);
    }
    return value;
  }

  /** A count: {@code 4096}, {@code 1_048_576}, {@code 4k} (×1024) or {@code 1m} (×1024²). */
  public static final class Count implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT).replace("_", "");
      long unit = v.endsWith("k") ? 1L << 10 : v.endsWith("m") ? 1L << 20 : 1;
      if (unit > 1) {
        v = v.substring(0, v.length() - 1);
      }
      try {
        return Math.multiplyExact(Long.parseLong(v), unit);
      } catch (NumberFormatException | ArithmeticException e) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not a count (e.g. 4096, 4k, 1m)");
      }
    }
  }

  /** {@code yes}/{@code no} (also {@code true}/{@code false}). */
  public static final class YesNo implements CommandLine.ITypeConverter<Boolean> {
    @Override
    public Boolean convert(String value) {
      switch (value) {
        case "yes": case "true": return true;
        case "no": case "false": return false;
        default: throw new CommandLine.TypeConversionException("'" + value + "' is not yes or no");
      }
    }
  }

  /** A precision name as the docs write it: fp32, bf16, fp16. */
  public static final class PrecisionName implements CommandLine.ITypeConverter<io.flashspark.attention.Precision> {
    @Override
    public io.flashspark.attention.Precision convert(String value) {
      try {
        return io.flashspark.attention.Precision.parse(value);
      } catch (RuntimeException e) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not fp32, bf16 or fp16");
      }
    }
  }
}
