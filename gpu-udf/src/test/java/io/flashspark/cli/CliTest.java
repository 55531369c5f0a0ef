package io.flashspark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.CpuBackend;
import io.flashspark.attention.KernelBench;
import io.flashspark.attention.Precision;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The shared command-line rules: counts, one-line errors naming the option, suggestions, ranges. */
class CliTest {
  @Command(name = "bench")
  static final class Probe implements Callable<Integer> {
    @Mixin KernelBench.Options options;
    KernelBench.Grid grid;

    @Override
    public Integer call() {
      grid = options.grid(CpuBackend.INSTANCE);
      return 0;
    }
  }

  private record Run(int code, String err, Probe probe) {}

  private static Run run(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    Probe probe = new Probe();
    int code = Cli.commandLine(probe, new PrintStream(new ByteArrayOutputStream()), e).execute(args);
    return new Run(code, err.toString(StandardCharsets.UTF_8), probe);
  }

  @Test
  void countsTakeSuffixesAndUnderscores() {
    Cli.Count c = new Cli.Count();
    assertEquals(4096L, c.convert("4096"));
    assertEquals(4096L, c.convert("4k"));
    assertEquals(1L << 20, c.convert("1m"));
    assertEquals(1_048_576L, c.convert("1_048_576"));
    for (String bad : List.of("x", "", "4q", "99999999999999999m")) {
      assertThrows(CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
    }
  }

  @Test
  void optionsLeftOutTakeTheBackendsGrid() {
    Run r = run("--tokens", "2k,8k", "--causal", "yes", "--reps", "5", "--reps", "7");
    assertEquals(0, r.code(), r.err());
    KernelBench.Grid g = r.probe().grid;
    assertEquals(List.of(2048L, 8192L), g.tokens());
    assertEquals(List.of(true), g.causal());
    assertEquals(7, g.reps(), "a repeated option takes its last value");
    assertEquals(KernelBench.Grid.cpu().dims(), g.dims());
    assertEquals(List.of(Precision.BF16), g.precisions());
  }

  @Test
  void badArgumentsAreOneLineNamingTheOptionWithExit2() {
    String[][] cases = {
        {"--reps", "0"}, {"--tokens", "0"}, {"--dims", "999"}, {"--tokens", "x"}, {"--causal", "maybe"},
        {"--reps"}, {"--precision", "fp8"}, {"--backend", "tpu"}};
    for (String[] bad : cases) {
      Run r = run(bad);
      assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
      String first = r.err().lines().findFirst().orElse("");
      assertTrue(first.startsWith("flashspark: error: bench: ") && first.contains(bad[0]), first);
    }
    Run typo = run("--token", "4k");
    assertEquals(2, typo.code());
    assertTrue(typo.err().contains("unknown option '--token'; did you mean --tokens"), typo.err());
    Run stray = run("4096");
    assertTrue(stray.err().contains("unexpected argument '4096'"), stray.err());
  }
}
