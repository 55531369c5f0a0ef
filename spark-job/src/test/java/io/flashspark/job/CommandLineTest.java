package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command line without Spark: help for every command with its defaults, typo suggestions,
 * and the exit codes of bad arguments (none of these start a session).
 */
class CommandLineTest {
  private record Outcome(int code, String out, String err) {}

  private static Outcome cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = FlashSpark.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void everyCommandHasHelpWithItsDefaults() {
    Outcome top = cli("--help");
    assertEquals(0, top.code());
    for (String command : List.of("generate", "score", "check", "bench", "demo", "sql")) {
      assertTrue(top.out().contains("  " + command + " "), top.out());
      Outcome help = cli(command, "--help");
      assertEquals(0, help.code(), command);
      assertTrue(help.out().startsWith("Usage: flashspark " + command), help.out());
      assertTrue(help.out().contains("Default:"), command + " shows defaults: " + help.out());
      assertTrue(help.out().contains("--verbose"), command + " inherits --verbose");
      assertEquals(help.out(), cli("help", command).out(), "'help " + command + "' is '" + command + " --help'");
    }
    Outcome score = cli("score", "--help");
    for (String option : List.of("--input=DIR", "--output=DIR", "--block-size=T", "--causal", "--cells=C",
        "--output-format=array|fp32|bf16", "--write-tasks=W", "--overwrite")) {
      assertTrue(score.out().contains(option), option);
    }
    assertTrue(score.out().contains("Default: " + ScoreOptions.DEFAULT_BLOCK_SIZE), score.out());
  }

  @Test
  void noCommandIsAnErrorWithTheUsage() {
    Outcome none = cli();
    assertEquals(2, none.code());
    assertTrue(none.err().contains("Usage: flashspark") && none.err().contains("a command is required"), none.err());
  }

  @Test
  void typosGetSuggestionsAndExit2() {
    Outcome command = cli("scroe", "--input", "x");
    assertEquals(2, command.code());
    assertTrue(command.err().startsWith("flashspark: error: unknown command 'scroe'"), command.err());
    assertTrue(command.err().contains("did you mean score?"), command.err());
    Outcome option = cli("score", "--input", "x", "--output", "y", "--blok-size", "64");
    assertEquals(2, option.code());
    assertTrue(option.err().contains("score: unknown option '--blok-size'; did you mean --block-size?"),
        option.err());
  }

  @Test
  void badValuesNameTheOptionBeforeAnythingRuns() {
    String[][] cases = {
        {"score", "--input", "x", "--output", "y", "--cells", "0"},
        {"score", "--input", "x", "--output", "y", "--merge", "sideways"},
        {"score", "--input", "x", "--output", "y", "--precision", "fp8"},
        {"score", "--input", "x", "--output", "y", "--scale", "-1"},
        {"score", "--input", "x", "--output", "y", "--write-tasks", "-2"},
        {"score", "--input", "x"},
        {"check", "--input", "x", "--output", "y", "--tolerance", "0"},
        {"generate", "--output", "y", "--tokens", "4q"},
        {"generate", "--output", "y", "--packed", "int8"},
        {"demo", "--dim", "9999"},
        {"bench", "--sweep", "everything", "--output", "y"},
        {"bench", "--sweep", "smoke"},
        {"bench", "--output", "y"}};
    List<String> named = List.of("--cells", "--merge", "--precision", "--scale", "--write-tasks", "--output",
        "--tolerance", "--tokens", "--packed", "--dim", "--sweep", "--output", "--output");
    for (int i = 0; i < cases.length; i++) {
      Outcome o = cli(cases[i]);
      assertEquals(2, o.code(), String.join(" ", cases[i]) + ": " + o.err());
      String first = o.err().lines().findFirst().orElse("");
      assertTrue(first.startsWith("flashspark: error: " + cases[i][0] + ": ") && first.contains(named.get(i)),
          String.join(" ", cases[i]) + " -> " + first);
    }
  }
}
