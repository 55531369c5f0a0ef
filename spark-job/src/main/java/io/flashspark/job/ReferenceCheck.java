package io.flashspark.job;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.ReferenceAttention;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Compares a job's output table with the float64 reference, per (doc, head), on the driver
 * (collects the inputs of the checked problems: for tests and the demo, not for big jobs).
 */
public final class ReferenceCheck {
  private ReferenceCheck() {}

  /** Largest errors found, and how many output rows were compared. */
  public record Errors(double maxOError, double maxLseError, long rowsChecked, long missingRows) {}

  /**
   * @param keys token table with k, v (and q for self-attention)
   * @param queries token table with q (the same as keys for self-attention)
   * @param output the job's output table
   * @param only the problems to check, or null for all
   */
  public static Errors compare(Dataset<Row> keys, Dataset<Row> queries, Dataset<Row> output, AttentionSpec spec,
      VectorEncoding packedAs, List<DocHead> only) {
    Map<DocHead, List<Token>> kvTokens = byDocHead(TokenTable.decode(keys, "keys", TableRole.KEYS, packedAs)
        .filter(t -> only == null || only.contains(new DocHead(t.docId(), t.head()))).collect());
    Map<DocHead, List<Token>> qTokens = byDocHead(TokenTable.decode(queries, "queries", TableRole.QUERIES, packedAs)
        .filter(t -> only == null || only.contains(new DocHead(t.docId(), t.head()))).collect());
    Map<DocHead, Map<Long, Row>> outRows = new HashMap<>();
    for (Row r : output.collectAsList()) {
      DocHead dh = new DocHead(r.getString(0), r.getInt(1));
      if (only == null || only.contains(dh)) {
        outRows.computeIfAbsent(dh, x -> new HashMap<>()).put(r.getLong(2), r);
      }
    }
    double oErr = 0;
    double lseErr = 0;
    long checked = 0;
    long missing = 0;
    for (Map.Entry<DocHead, List<Token>> e : qTokens.entrySet()) {
      List<Token> qs = e.getValue();
      List<Token> kvs = kvTokens.getOrDefault(e.getKey(), List.of());
      int dim = qs.get(0).q().length;
      QueryBlock q = new QueryBlock(qs.size(), dim, pack(qs, 0, dim), positions(qs));
      List<KeyValueBlock> kv = kvs.isEmpty() ? List.of()
          : List.of(new KeyValueBlock(kvs.size(), dim, pack(kvs, 1, dim), pack(kvs, 2, dim), positions(kvs)));
      ReferenceAttention.Result ref = ReferenceAttention.forward(q, kv, spec);
      Map<Long, Row> rows = outRows.getOrDefault(e.getKey(), Map.of());
      for (int i = 0; i < qs.size(); i++) {
        Row row = rows.get(qs.get(i).pos());
        if (row == null) {
          missing++;
          continue;
        }
        checked++;
        double lse = row.getDouble(4);
        double refLse = ref.lse()[i];
        lseErr = Math.max(lseErr, lse == refLse ? 0 : Math.abs(lse - refLse));
        List<Object> o = row.getList(3);
        if (o.size() != dim) {
          oErr = Double.POSITIVE_INFINITY;
          continue;
        }
        for (int c = 0; c < dim; c++) {
          double err = Math.abs((Float) o.get(c) - ref.o(i, c));
          oErr = Double.isNaN(err) ? Double.POSITIVE_INFINITY : Math.max(oErr, err);
        }
      }
    }
    long outputRows = outRows.values().stream().mapToLong(Map::size).sum();
    if (outputRows != checked) {
      missing += Math.abs(outputRows - checked); // rows the output has but the queries do not
    }
    return new Errors(oErr, lseErr, checked, missing);
  }

  private static Map<DocHead, List<Token>> byDocHead(List<Token> tokens) {
    Map<DocHead, List<Token>> out = new HashMap<>();
    for (Token t : tokens) {
      out.computeIfAbsent(new DocHead(t.docId(), t.head()), x -> new ArrayList<>()).add(t);
    }
    out.values().forEach(l -> l.sort(Comparator.comparingLong(Token::pos)));
    return out;
  }

  private static float[] pack(List<Token> tokens, int which, int dim) {
    float[] out = new float[tokens.size() * dim];
    for (int i = 0; i < tokens.size(); i++) {
      Token t = tokens.get(i);
      float[] x = which == 0 ? t.q() : which == 1 ? t.k() : t.v();
      System.arraycopy(x, 0, out, i * dim, dim);
    }
    return out;
  }

  private static long[] positions(List<Token> tokens) {
    long[] pos = new long[tokens.size()];
    for (int i = 0; i < pos.length; i++) {
      pos[i] = tokens.get(i).pos();
    }
    return pos;
  }
}
