package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 6: no data loss (output overlapping an input, overwrite, the demo's work directory), no
 * silent wrong answer (vector encodings, value types), one line and a documented exit code for
 * every failure, no debris after a failure.
 */
class GuardsTest extends SparkTestBase {
  private static final List<String> QKV = List.of("q", "k", "v");
  @TempDir Path dir;
  private String input;

  @BeforeEach
  void writeInput() {
    input = write(dir, "tokens", rows(new SplittableRandom(5), List.of(DocSpec.contiguous("d", 0, 0, 40, 8)), QKV,
        VectorEncoding.BF16), QKV, VectorEncoding.BF16, 2);
  }

  private static List<String> listing(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return s.map(p -> root.relativize(p) + (Files.isDirectory(p) ? "/" : ":" + p.toFile().length()))
          .sorted().collect(Collectors.toList());
    }
  }

  private Outcome score(String in, String out, String... extra) {
    List<String> args = new ArrayList<>(List.of("score", "--input", in, "--output", out, "--backend", "cpu",
        "--block-size", "16"));
    args.addAll(List.of(extra));
    return cli(args.toArray(new String[0]));
  }

  private static void assertOneLineError(Outcome o, int code, String fragment) {
    assertEquals(code, o.code(), o.err());
    assertTrue(o.err().contains(fragment), "expected '" + fragment + "' in: " + o.err());
    List<String> lines = o.err().lines().filter(l -> l.startsWith("flashspark: ")).collect(Collectors.toList());
    assertFalse(lines.isEmpty(), o.err());
    assertFalse(o.err().contains("\tat "), "no stack trace without --verbose: " + o.err());
  }

  @Test
  void outputThatIsInsideOrContainsAnInputIsRefusedHoweverSpelled() throws IOException {
    Path link = dir.resolve("link-to-tokens");
    Files.createSymbolicLink(link, Path.of(input));
    Path linkToDir = dir.resolve("link-to-dir");
    Files.createSymbolicLink(linkToDir, dir);
    List<String> before = listing(dir.resolve("tokens"));
    String relative = Path.of("").toAbsolutePath().relativize(Path.of(input)).toString();
    List<String> spellings = List.of(input, input + "/", "file://" + input, "file:" + input, relative, relative + "/",
        link.toString(), input + "/../tokens", input + "/sub", input + "/part-x/deeper", dir.toString(),
        "file://" + dir + "/", linkToDir.toString(), linkToDir + "/tokens/inner");
    for (String output : spellings) {
      for (boolean overwrite : new boolean[] {false, true}) {
        Outcome o = overwrite ? score(input, output, "--overwrite") : score(input, output);
        assertOneLineError(o, 2, "refusing to write there");
      }
    }
    // the queries table is an input too
    String queries = write(dir, "queries", rows(new SplittableRandom(6), List.of(DocSpec.contiguous("d", 0, 0, 5, 8)),
        List.of("q"), VectorEncoding.ARRAY), List.of("q"), VectorEncoding.ARRAY, 1);
    assertOneLineError(score(input, queries + "/", "--queries", queries, "--overwrite"), 2, "the queries table");
    assertEquals(before, listing(dir.resolve("tokens")), "the input is untouched");
    assertEquals(40, spark.read().parquet(input).count());
  }

  @Test
  void overwriteKeepsThePreviousResultUntilTheNewOneIsComplete() throws IOException {
    String out = dir.resolve("attention").toString();
    assertEquals(0, score(input, out).code());
    List<String> first = listing(Path.of(out));
    // a rerun that fails while computing keeps the previous output, and leaves nothing beside it
    spark.sparkContext().setLocalProperty(CellTask.FAULT, "yes");
    Outcome failed;
    try {
      failed = score(input, out, "--overwrite", "--causal");
    } finally {
      spark.sparkContext().setLocalProperty(CellTask.FAULT, null);
    }
    assertOneLineError(failed, 1, "cell task failed on purpose");
    assertEquals(first, listing(Path.of(out)), "the previous output survives a failed --overwrite");
    assertEquals(List.of("attention", "tokens"), names(dir), "no staging directory left behind");
    // a successful rerun replaces it
    assertEquals(0, score(input, out, "--overwrite", "--causal").code());
    assertEquals(List.of("attention", "tokens"), names(dir));
    assertEquals(40, spark.read().parquet(out).count());
    assertTrue(Files.exists(Path.of(out, "_SUCCESS")));
  }

  @Test
  void aFailedRunLeavesNoOutputDirectory() throws IOException {
    String out = dir.resolve("fresh").toString();
    spark.sparkContext().setLocalProperty(CellTask.FAULT, "yes");
    try {
      assertOneLineError(score(input, out), 1, "failed on purpose");
    } finally {
      spark.sparkContext().setLocalProperty(CellTask.FAULT, null);
    }
    assertFalse(Files.exists(Path.of(out)), "no partial output");
    assertEquals(0, score(input, out).code(), "the rerun is not blocked");
  }

  private static List<String> names(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("link")).sorted()
          .collect(Collectors.toList());
    }
  }

  @Test
  void demoRefusesAWorkDirectoryWithForeignFiles() throws IOException {
    Path work = dir.resolve("work");
    Files.createDirectories(work.resolve("tokens"));
    Files.writeString(work.resolve("tokens").resolve("precious.parquet"), "user data");
    assertOneLineError(cli("demo", "--work", work.toString(), "--tokens", "32", "--docs", "1", "--heads", "1",
        "--backend", "cpu"), 2, "did not create");
    assertEquals("user data", Files.readString(work.resolve("tokens").resolve("precious.parquet")));
    // a directory the demo made may be reused
    Path own = dir.resolve("own");
    Outcome first = cli("demo", "--work", own.toString(), "--tokens", "32", "--docs", "1", "--heads", "1", "--dim", "8",
        "--backend", "cpu");
    assertEquals(0, first.code(), first.err());
    Outcome again = cli("demo", "--work", own.toString(), "--tokens", "48", "--docs", "1", "--heads", "1", "--dim", "8",
        "--backend", "cpu");
    assertEquals(0, again.code(), again.err());
    assertEquals(48, spark.read().parquet(own.resolve("tokens").toString()).count());
    Files.writeString(own.resolve("notes.txt"), "mine");
    assertOneLineError(cli("demo", "--work", own.toString(), "--tokens", "32", "--backend", "cpu"), 2, "notes.txt");
  }

  @Test
  void explainPrintsThePhysicalPlanBeforeTheJobRuns() {
    Outcome o = score(input, dir.resolve("explained").toString(), "--causal", "--explain");
    assertEquals(0, o.code(), o.err());
    int plan = o.out().indexOf("== Physical Plan ==");
    int summary = o.out().indexOf("scored ");
    assertTrue(plan >= 0 && plan < summary, o.out());
    // the input is in (doc, head, pos) order: the cells read it themselves, no routing shuffle
    assertTrue(o.out().contains("Scan ExistingRDD") && o.out().contains("flashspark cells reading '" + input + "'")
        && !o.out().contains("Exchange"), o.out());
    // routed: the routing shuffle and the fragments packed from the input's scan are in it
    System.setProperty("flashspark.directCells", "false");
    try {
      Outcome routed = score(input, dir.resolve("explained-routed").toString(), "--causal", "--explain");
      assertEquals(0, routed.code(), routed.err());
      assertTrue(routed.out().contains("Exchange") && routed.out().contains("Scan ExistingRDD")
          && routed.out().contains("flashspark fragments of '" + input + "'"), routed.out());
    } finally {
      System.clearProperty("flashspark.directCells");
    }
  }

  /**
   * An output where nothing can be created (here under /proc, where even root makes no directory; also
   * a directory nobody may write) is refused before any work: Hadoop's committer only logged the
   * directory it could not make, and the tasks failed at their first row after the cells had computed.
   * A writable output's check leaves nothing behind.
   */
  @Test
  void anOutputThatCannotBeCreatedIsRefusedBeforeAnyWork() throws IOException {
    Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")), "Linux /proc");
    Outcome o = score(input, "/proc/flashspark-no-such-dir/out", "--causal");
    assertOneLineError(o, 2, "cannot create output");
    assertFalse(o.out().contains("computing"), "no cell computed: " + o.out());
    assertOneLineError(cli("sql", "--output", "/proc/flashspark-no-such-dir/sql", "SELECT 1 AS x"), 2,
        "cannot create output");
    assertEquals(0, score(input, dir.resolve("out").toString(), "--causal").code());
    try (Stream<Path> top = Files.list(dir)) {
      assertEquals(List.of("out", "tokens"), top.map(p -> p.getFileName().toString()).sorted().toList(),
          "no probe or staging directory left");
    }
  }

  /**
   * Integer document ids and long heads (README "Types": ids become their decimal strings): score names
   * them as strings, and check reads such an input too (it failed with a ClassCastException).
   */
  @Test
  void integerDocIdsAndLongHeadsAreScoredAndChecked() {
    String ints = dir.resolve("ints").toString();
    spark.read().parquet(input).withColumn("doc_id", functions.lit(42))
        .withColumn("head", functions.col("head").cast("long")).write().parquet(ints);
    String out = dir.resolve("out-ints").toString();
    Outcome o = score(ints, out, "--causal");
    assertEquals(0, o.code(), o.err());
    assertEquals("string", spark.read().parquet(out).schema().apply("doc_id").dataType().typeName());
    Outcome check = cli("check", "--input", ints, "--output", out, "--causal");
    assertEquals(0, check.code(), check.out() + check.err());
    assertTrue(check.out().contains("doc '42' head 0") && check.out().contains("OK"), check.out());
  }

  @Test
  void packedEncodingIsRecordedDetectedAndNeverContradicted() {
    // recorded bf16: scored without --packed, decoded as bf16 (d = 8, not 4 fp32 values)
    String out = dir.resolve("out").toString();
    Outcome o = score(input, out, "--causal");
    assertEquals(0, o.code(), o.err());
    assertTrue(o.out().contains("(d=8, causal)"), o.out());
    Dataset<Row> kv = spark.read().parquet(input);
    ReferenceCheck.Errors e = ReferenceCheck.compare(kv, kv, spark.read().parquet(out),
        new AttentionSpec(Double.NaN, true, Precision.FP32), null, null, Integer.MAX_VALUE);
    assertTrue(e.maxOError() <= 1e-5 && e.rowsChecked() == 40, e.toString());
    // check with the same defaults reads the encoding too, and finds the output right
    Outcome check = cli("check", "--input", input, "--output", out, "--causal");
    assertEquals(0, check.code(), check.out() + check.err());
    // a declared encoding that disagrees with the recorded one
    assertOneLineError(score(input, dir.resolve("o2").toString(), "--packed", "fp32"), 2, "recorded in the table");
    assertOneLineError(cli("check", "--input", input, "--output", out, "--packed", "fp16"), 2, "recorded in the table");
    // binary columns whose encoding nobody recorded: --packed is required, and checked against byte lengths
    String unmarked = dir.resolve("unmarked").toString();
    StructType plainBinary = DataTypes.createStructType(List.of(
        DataTypes.createStructField("doc_id", DataTypes.StringType, false),
        DataTypes.createStructField("head", DataTypes.IntegerType, false),
        DataTypes.createStructField("pos", DataTypes.LongType, false),
        DataTypes.createStructField("q", DataTypes.BinaryType, false),
        DataTypes.createStructField("k", DataTypes.BinaryType, false),
        DataTypes.createStructField("v", DataTypes.BinaryType, false)));
    spark.createDataFrame(rows(new SplittableRandom(5), List.of(DocSpec.contiguous("d", 0, 0, 40, 8)), QKV,
        VectorEncoding.BF16), plainBinary).write().parquet(unmarked);
    assertOneLineError(score(unmarked, dir.resolve("o3").toString()), 2, "does not record how it is packed");
    assertEquals(0, score(unmarked, dir.resolve("o4").toString(), "--packed", "bf16").code());
    List<Row> odd = List.of(RowFactory.create("x", 0, 0L, new byte[6], new byte[6], new byte[6]));
    String oddTable = write(dir, "odd", odd, QKV, VectorEncoding.FP32, 1); // 6 bytes: not whole fp32 values
    assertOneLineError(score(oddTable, dir.resolve("o5").toString()), 2, "not a whole number of 4-byte values");
  }

  @Test
  void valuesThatWouldChangeSilentlyAreRefused() {
    StructType doubles = DataTypes.createStructType(List.of(
        DataTypes.createStructField("doc_id", DataTypes.StringType, false),
        DataTypes.createStructField("head", DataTypes.DoubleType, false),
        DataTypes.createStructField("pos", DataTypes.LongType, false),
        DataTypes.createStructField("q", DataTypes.createArrayType(DataTypes.FloatType), false),
        DataTypes.createStructField("k", DataTypes.createArrayType(DataTypes.FloatType), false),
        DataTypes.createStructField("v", DataTypes.createArrayType(DataTypes.FloatType), false)));
    float[] x = {1f, 2f};
    String fractionalHead = dir.resolve("fh").toString();
    spark.createDataFrame(List.of(RowFactory.create("d", 1.5, 0L, x, x, x)), doubles).write().parquet(fractionalHead);
    assertOneLineError(score(fractionalHead, dir.resolve("o1").toString()), 2, "column 'head' has type double");

    StructType fractionalPos = DataTypes.createStructType(List.of(doubles.fields()[0],
        DataTypes.createStructField("head", DataTypes.IntegerType, false),
        DataTypes.createStructField("pos", DataTypes.DoubleType, false), doubles.fields()[3], doubles.fields()[4],
        doubles.fields()[5]));
    String fp = dir.resolve("fp").toString();
    spark.createDataFrame(List.of(RowFactory.create("d", 1, 0.5, x, x, x)), fractionalPos).write().parquet(fp);
    assertOneLineError(score(fp, dir.resolve("o2").toString()), 2, "column 'pos' has type double");

    StructType longHead = DataTypes.createStructType(List.of(doubles.fields()[0],
        DataTypes.createStructField("head", DataTypes.LongType, false), doubles.fields()[2], doubles.fields()[3],
        doubles.fields()[4], doubles.fields()[5]));
    String lh = dir.resolve("lh").toString();
    spark.createDataFrame(List.of(RowFactory.create("d", 1L, 0L, x, x, x), RowFactory.create("d", 3_000_000_000L, 1L,
        x, x, x)), longHead).write().parquet(lh);
    assertOneLineError(score(lh, dir.resolve("o3").toString()), 2, "head 3000000000 does not fit a 32-bit int");

    // array<double> is documented as converted to fp32 (the kernels' input precision): accepted, exact in fp32
    StructType arrayDouble = DataTypes.createStructType(List.of(doubles.fields()[0],
        DataTypes.createStructField("head", DataTypes.IntegerType, false), doubles.fields()[2],
        DataTypes.createStructField("q", DataTypes.createArrayType(DataTypes.DoubleType), false),
        DataTypes.createStructField("k", DataTypes.createArrayType(DataTypes.DoubleType), false),
        DataTypes.createStructField("v", DataTypes.createArrayType(DataTypes.DoubleType), false)));
    String ad = dir.resolve("ad").toString();
    double[] y = {0.25, -1.5};
    spark.createDataFrame(List.of(RowFactory.create("d", 0, 0L, y, y, y), RowFactory.create("d", 0, 1L, y, y, y)),
        arrayDouble).write().parquet(ad);
    String out = dir.resolve("o4").toString();
    assertEquals(0, score(ad, out).code());
    Row r = spark.read().parquet(out).orderBy("pos").first();
    assertEquals(0.25f, ((Number) r.getList(3).get(0)).floatValue());
  }

  @Test
  void everyFailureIsOneLineWithItsExitCode() throws IOException {
    String out = dir.resolve("out").toString();
    // head dimension above what the backends support: refused on the driver, before any output
    float[] wide = new float[300];
    String wideTable = write(dir, "wide", List.of(RowFactory.create("w", 0, 0L, wide, wide, wide)), QKV,
        VectorEncoding.ARRAY, 1);
    assertOneLineError(score(wideTable, out), 2, "head dimension 300 is above what the backends support");
    // the GPU where none is usable (this machine) or at a precision it cannot compute
    assertOneLineError(score(input, out, "--backend", "gpu", "--precision", "fp32"), 2, "--precision bf16 or fp16");
    if (io.flashspark.attention.Backends.forName("auto") == io.flashspark.attention.CpuBackend.INSTANCE) {
      assertOneLineError(score(input, out, "--backend", "gpu"), 2, "no usable GPU");
    }
    // paths: missing for check, input that is not Parquet
    assertOneLineError(cli("check", "--input", dir.resolve("nope").toString(), "--output", out), 2, "does not exist");
    assertOneLineError(score(input + "/*.parquet", dir.resolve("glob").toString()), 2, "a glob pattern is not taken");
    assertOneLineError(cli("check", "--input", input, "--output", dir.resolve("nope").toString()), 2,
        "does not exist");
    Path text = Files.createDirectories(dir.resolve("text"));
    Files.writeString(text.resolve("part-0.parquet"), "this is not parquet\n".repeat(20));
    assertOneLineError(score(text.toString(), out), 2, "Parquet");
    // numeric options out of range
    for (String[] bad : new String[][] {{"--max-kv-shard-mb", "0"}, {"--cells", "-1"}, {"--scale", "NaN"},
        {"--scale", "-1"}, {"--scale", "Infinity"}, {"--block-size", "0"}, {"--max-task-mb", "1"},
        {"--cells", "x"}}) {
      assertOneLineError(score(input, out, bad), 2, bad[0]);
    }
    for (String[] bad : new String[][] {{"--reps", "0"}, {"--tokens", "0"}, {"--dims", "999"}, {"--tokens", "x"},
        {"--causal", "maybe"}, {"--reps"}, {"--precision", "fp8"}}) {
      List<String> args = new ArrayList<>(List.of("bench", "--backend", "cpu"));
      args.addAll(List.of(bad));
      assertEquals(2, cli(args.toArray(new String[0])).code(), String.join(" ", bad));
    }
    assertOneLineError(cli("check", "--input", input, "--output", input, "--rows", "0"), 2, "--rows");
    assertOneLineError(cli("check", "--input", input, "--output", input), 2, "missing column(s) o, lse");
    assertOneLineError(cli("generate", "--output", out, "--dim", "0"), 2, "--dim");
    assertOneLineError(cli("frobnicate"), 2, "unknown command");
    assertFalse(Files.exists(Path.of(out)), "nothing written by any refused command");
    // --verbose adds the stack trace of a failure
    spark.sparkContext().setLocalProperty(CellTask.FAULT, "yes");
    try {
      Outcome verbose = score(input, out, "--verbose");
      assertEquals(1, verbose.code());
      assertTrue(verbose.err().contains("\tat "), verbose.err());
    } finally {
      spark.sparkContext().setLocalProperty(CellTask.FAULT, null);
    }
  }
}
