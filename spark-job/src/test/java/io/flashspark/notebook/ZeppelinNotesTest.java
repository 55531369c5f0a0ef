package io.flashspark.notebook;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import scala.tools.nsc.Settings;
import scala.tools.nsc.interpreter.IMain;
import scala.tools.nsc.interpreter.Results;
import scala.tools.nsc.interpreter.shell.ReplReporterImpl;

/**
 * Every paragraph of every Zeppelin note in notebooks/ runs, in order, against a local Spark
 * session with the project's classes, as Zeppelin 0.12's Spark interpreter (Spark 4.0, Scala
 * 2.13) would run it: {@code %spark.conf} paragraphs configure the session before it starts
 * ({@code spark.jars} aside: the classes are on the test class path), {@code %spark} (and
 * paragraphs without an interpreter) go through the Scala 2.13 REPL with {@code spark}, {@code sc}
 * and a stand-in for {@code z} bound, {@code %spark.sql} through {@code spark.sql} with its rows
 * collected, {@code %md} is skipped. A note that no longer runs fails the build.
 */
class ZeppelinNotesTest {
  private static final Path NOTES = Path.of("").toAbsolutePath().getParent().resolve("notebooks");

  private record Paragraph(int index, String interpreter, String body) {}

  private static List<Paragraph> paragraphs(Path note) throws Exception {
    JsonNode root = new ObjectMapper().readTree(note.toFile());
    List<Paragraph> out = new ArrayList<>();
    int i = 0;
    for (JsonNode p : root.path("paragraphs")) {
      String text = p.path("text").asText("");
      String interpreter = "%spark";
      String body = text;
      if (text.startsWith("%")) {
        int nl = text.indexOf('\n');
        interpreter = (nl < 0 ? text : text.substring(0, nl)).trim();
        body = nl < 0 ? "" : text.substring(nl + 1);
      }
      out.add(new Paragraph(i++, interpreter, body));
    }
    return out;
  }

  @TestFactory
  Stream<DynamicTest> everyParagraphOfEveryNoteRuns() throws Exception {
    List<Path> notes;
    try (Stream<Path> s = Files.list(NOTES)) {
      notes = s.filter(p -> p.toString().endsWith(".zpln")).sorted().collect(Collectors.toList());
    }
    assertFalse(notes.isEmpty(), "notes in " + NOTES);
    return notes.stream().map(note -> DynamicTest.dynamicTest(note.getFileName().toString(), () -> run(note)));
  }

  private static void run(Path note) throws Exception {
    List<Paragraph> paragraphs = paragraphs(note);
    Map<String, String> conf = new LinkedHashMap<>();
    for (Paragraph p : paragraphs) {
      if (p.interpreter().equals("%spark.conf")) {
        for (String line : p.body().split("\n")) {
          String l = line.trim();
          if (l.isEmpty() || l.startsWith("#")) {
            continue;
          }
          String[] kv = l.split("\\s+", 2);
          if (!kv[0].equals("spark.jars")) {
            conf.put(kv[0], kv.length > 1 ? kv[1] : "");
          }
        }
      }
    }
    SparkSession.getActiveSession().foreach(s -> {
      s.stop(); // %spark.conf applies to a session that starts after it
      return null;
    });
    SparkSession.Builder builder = SparkSession.builder().master("local[2]").appName("note " + note.getFileName())
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4");
    conf.forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    StringWriter replOut = new StringWriter();
    IMain repl = null;
    ZStandIn z = new ZStandIn();
    try {
      for (Paragraph p : paragraphs) {
        System.out.println("  note " + note.getFileName() + " paragraph " + p.index() + " " + p.interpreter());
        switch (p.interpreter()) {
          case "%md":
          case "%spark.conf":
            break;
          case "%spark.sql": {
            for (String statement : p.body().split(";\\s*(\n|$)")) {
              if (!statement.isBlank()) {
                List<Row> rows = spark.sql(statement).collectAsList();
                rows.stream().limit(5).forEach(r -> System.out.println("    sql | " + r));
              }
            }
            break;
          }
          case "%spark":
          case "%spark.spark": {
            if (repl == null) {
              repl = repl(replOut, spark, z);
            }
            Results.Result r = repl.interpret(p.body());
            if (!(r instanceof Results.Success$)) {
              fail(note.getFileName() + " paragraph " + p.index() + " failed (" + r + "):\n" + p.body() + "\n--- REPL:\n"
                  + replOut);
            }
            break;
          }
          default:
            fail(note.getFileName() + " paragraph " + p.index() + ": interpreter " + p.interpreter()
                + " is not one this test runs (%spark, %spark.sql, %spark.conf, %md)");
        }
      }
      assertTrue(!z.shown().isEmpty() || paragraphs.stream().anyMatch(p -> p.interpreter().equals("%spark.sql")),
          "the note shows something");
    } finally {
      if (repl != null) {
        repl.close();
      }
      spark.stop();
    }
  }

  private static IMain repl(StringWriter out, SparkSession spark, ZStandIn z) {
    Settings settings = new Settings();
    // the test class path (surefire passes it in a manifest-only jar, which scalac does not expand)
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    settings.classpath().value_$eq(classpath);
    settings.usejavacp().value_$eq(Boolean.TRUE);
    IMain repl = new IMain(settings, new ReplReporterImpl(settings, new PrintWriter(out, true)));
    scala.collection.immutable.List<String> none = scala.collection.immutable.List$.MODULE$.empty();
    check(repl.bind("spark", SparkSession.class.getName(), spark, none), out);
    check(repl.bind("sc", org.apache.spark.SparkContext.class.getName(), spark.sparkContext(), none), out);
    check(repl.bind("z", ZStandIn.class.getName(), z, none), out);
    check(repl.interpret("import spark.implicits._"), out);
    return repl;
  }

  private static void check(Results.Result r, StringWriter out) {
    if (!(r instanceof Results.Success$)) {
      fail("REPL set-up failed (" + r + "):\n" + out + "\nclass path entries: "
          + System.getProperty("surefire.test.class.path", "").split(File.pathSeparator).length);
    }
  }
}
