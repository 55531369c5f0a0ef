package io.flashspark.job;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.Precision;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * {@code check}: a score job's output against the float64 reference — every query token has
 * exactly one output row, and sampled rows of sampled (doc, head)s match within the tolerance of
 * the input precision (docs/numerics.md). Used by {@code demo} too.
 */
final class CheckCommand {
  /** fp32 inputs: the CPU kernel's error is ~1e-6; 16-bit inputs with the GPU's bf16 P·V: ~1e-2. */
  static double defaultTolerance(Precision precision) {
    return precision == Precision.FP32 ? 1e-4 : 2e-2;
  }

  /**
   * The precision a score's inputs were rounded to, from the backends its summary names (e.g.
   * "cpu fp32", "gpu:NVIDIA H200 bf16 (Spark GPU 0)"): fp32 only when every cell computed in fp32.
   */
  static Precision computedIn(List<String> backends) {
    return backends.stream().allMatch(b -> b.contains(" " + Precision.FP32.label())) ? Precision.FP32 : Precision.BF16;
  }

  private CheckCommand() {}

  /** Runs {@code check}; true when the output is complete and within the tolerance. */
  static boolean run(String input, String output, String queries, AttentionSpec spec, VectorEncoding packedAs,
      int docHeads, int rows, double tolerance, PrintStream out) {
    SparkSession spark = FlashSpark.session("check");
    Dataset<Row> kv = TokenTable.open(spark, input, "input");
    Dataset<Row> q = queries == null ? kv : TokenTable.open(spark, queries, "queries");
    Dataset<Row> result = TokenTable.open(spark, output, "output");
    // schema and encodings checked before any job runs (the decode itself is lazy)
    TokenTable.columns(kv, input, queries == null ? TableRole.SELF : TableRole.KEYS, packedAs);
    TokenTable.columns(q, queries == null ? input : queries, TableRole.QUERIES, packedAs);
    OutputTable.checkSchema(result, output);
    return check(kv, q, result, spec, packedAs, docHeads, rows, tolerance, out);
  }

  /** Checks {@code docHeads} (doc, head)s spread over the table, {@code rows} query rows each. */
  static boolean check(Dataset<Row> keys, Dataset<Row> queries, Dataset<Row> output, AttentionSpec spec,
      VectorEncoding packedAs, int docHeads, int rows, double tolerance, PrintStream out) {
    // as the job names them: integer doc ids as their decimal strings, heads as int
    List<DocHead> all = new ArrayList<>(ReferenceCheck.docHeads(queries));
    java.util.Collections.sort(all);
    List<DocHead> chosen = new ArrayList<>();
    for (int i : ReferenceCheck.evenlySpaced(all.size(), docHeads)) {
      if (!chosen.contains(all.get(i))) {
        chosen.add(all.get(i));
      }
    }
    ReferenceCheck.Errors e = Progress.described(output.sparkSession(), "checking the output against the float64"
        + " reference", () -> ReferenceCheck.compare(keys, queries, output, spec, packedAs, chosen, rows));
    boolean ok = e.missingRows() == 0 && e.rowsChecked() > 0 && e.maxOError() <= tolerance
        && e.maxLseError() <= tolerance;
    out.printf("output rows missing or extra: %d%n", e.missingRows());
    out.printf("float64 reference (%s inputs) on %d rows of %s: max |o - ref| = %.2e, max |lse - ref| = %.2e"
        + " (tolerance %.0e) %s%n", spec.precision().label(), e.rowsChecked(), chosen, e.maxOError(),
        e.maxLseError(), tolerance, ok ? "OK" : "MISMATCH");
    return ok;
  }
}
