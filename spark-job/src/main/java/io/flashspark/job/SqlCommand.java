package io.flashspark.job;

import io.flashspark.sql.AttentionFunctions;
import io.flashspark.sql.FlashSparkExtensions;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code flashspark sql}: one query over Parquet tables with the SQL functions registered, its rows
 * printed or written (through the same staged, input-guarded output as {@code score}). Bad tables,
 * queries and function arguments are the user's input (exit 2).
 */
final class SqlCommand {
  private SqlCommand() {}

  static void run(SparkSession spark, String query, Map<String, String> tables, String output, boolean overwrite,
      int show, boolean explain, PrintStream out) throws Exception {
    long start = System.currentTimeMillis();
    FlashSparkExtensions.register(spark);
    Configuration hadoop = TokenTable.hadoopConf(spark);
    Map<String, String> inputs = new LinkedHashMap<>();
    for (Map.Entry<String, String> t : tables.entrySet()) {
      if (!t.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new InputException("--table " + t.getKey() + "=...: a table name is letters, digits and _");
      }
      inputs.put(t.getKey(), t.getValue());
      try {
        spark.read().parquet(t.getValue()).createOrReplaceTempView(t.getKey());
      } catch (Exception e) {
        throw new InputException("--table " + t.getKey() + ": cannot read '" + t.getValue() + "' as Parquet: "
            + Failures.firstLine(e));
      }
    }
    if (output != null) {
      OutputPaths.checkSeparate(hadoop, output, inputs);
      OutputPaths.checkWritable(hadoop, output, overwrite);
    }
    Dataset<Row> result;
    try {
      result = spark.sql(query);
    } catch (Exception e) { // Scala throws AnalysisException (parse errors too) undeclared
      if (e instanceof AnalysisException) {
        throw new InputException("bad query: " + Failures.firstLine(e));
      }
      throw e;
    }
    if (explain) {
      Object udf = AttentionFunctions.implementation();
      out.println(AttentionFunctions.ATTENTION + ": " + (udf.getClass().getName().equals(
          AttentionFunctions.COLUMNAR_CLASS) ? "columnar implementation (GPU under the RAPIDS Accelerator,"
          + " rows elsewhere)" : "row implementation (this jar was built without -Prapids, or the RAPIDS"
          + " Accelerator's classes are not loaded)"));
      out.println(ScoreJob.explained(result));
    }
    try {
      if (output != null) {
        try (OutputPaths.Staged staged = OutputPaths.stage(hadoop, output, overwrite)) {
          result.write().parquet(staged.path());
          staged.commit();
        }
        out.printf("wrote the result of the query into %s in %.2fs%n", output,
            (System.currentTimeMillis() - start) / 1000.0);
      } else {
        // as Spark's show() lays rows out (arrays [a, b], structs {a, b}), values whole
        String table = ((org.apache.spark.sql.classic.Dataset<Row>) result).showString(show, 0, false);
        out.print(table.endsWith("\n") ? table : table + "\n");
        long shown = table.lines().filter(l -> l.startsWith("|")).count() - 1; // the header is a line too
        out.printf("(%d row(s) shown, %.2fs)%n", shown, (System.currentTimeMillis() - start) / 1000.0);
      }
    } catch (Exception e) { // Spark's SparkException is checked: a task's failure arrives as one
      throw functionArgumentError(e);
    }
  }

  /** A function's complaint about its arguments (possibly wrapped by Spark) as bad input; anything else as is. */
  static Exception functionArgumentError(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (t instanceof IllegalArgumentException && m != null
          && (m.startsWith(AttentionFunctions.ATTENTION + ":") || m.startsWith(AttentionFunctions.MERGE + ":"))) {
        return new InputException(m);
      }
    }
    return e;
  }
}
