package io.flashspark.job;

import static org.apache.spark.sql.functions.col;

import io.flashspark.attention.AttentionSpec;
import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.PackedRows;
import io.flashspark.attention.QueryBlock;
import io.flashspark.attention.ReferenceAttention;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Compares a job's output table with the float64 reference. Completeness (one output row per
 * query token, nothing else) is checked for every (doc, head) with a Spark aggregation; values
 * are checked on the driver for the chosen (doc, head)s, on up to {@code sampleRows} query rows
 * each (evenly spaced), against all of that (doc, head)'s keys. The driver holds one (doc, head)'s
 * rows at a time, packed as the job packs them ({@link Fragments}), so this scales to long documents as long as one (doc, head) fits the driver.
 */
public final class ReferenceCheck {
  private ReferenceCheck() {}

  /** Largest errors found, the rows compared, and rows missing from (or extra in) the output. */
  public record Errors(double maxOError, double maxLseError, long rowsChecked, long missingRows) {}

  /**
   * @param keys token table with k, v (and q for self-attention)
   * @param queries token table with q (the same as keys for self-attention)
   * @param output the job's output table
   * @param only the (doc, head)s whose values are checked, or null for all
   * @param sampleRows query rows checked per (doc, head); {@code Integer.MAX_VALUE} for all
   */
  public static Errors compare(Dataset<Row> keys, Dataset<Row> queries, Dataset<Row> output, AttentionSpec spec,
      VectorEncoding packedAs, List<DocHead> only, int sampleRows) {
    VectorEncoding format = OutputTable.format(output.schema(), "output");
    long missing = countMismatches(queries, output);
    List<DocHead> checked = only != null ? only : docHeads(queries);
    double oErr = 0;
    double lseErr = 0;
    long rowsChecked = 0;
    boolean self = keys == queries; // one pass over the table per (doc, head), not two
    for (DocHead dh : checked) {
      Sides qs = blocks(queries, dh, self ? TableRole.SELF : TableRole.QUERIES, packedAs);
      if (qs.queries().isEmpty()) {
        continue;
      }
      List<KeyValueBlock> kv = new ArrayList<>();
      for (PackedRows b : self ? qs.keys() : blocks(keys, dh, TableRole.KEYS, packedAs).keys()) {
        kv.add(b.keyValueBlock());
      }
      QueryBlock q = sampled(qs.queries(), sampleRows);
      int dim = q.dim();
      long[] samplePos = q.pos();
      List<Object> positions = new ArrayList<>(q.rows());
      for (long p : samplePos) {
        positions.add(p);
      }
      ReferenceAttention.Result ref = ReferenceAttention.forward(q, kv, spec);
      Map<Long, Row> rows = new HashMap<>();
      for (Row r : output.where(col(TokenTable.DOC_ID).equalTo(dh.docId()).and(col(TokenTable.HEAD).equalTo(dh.head()))
          .and(col(TokenTable.POS).isin(positions.toArray()))).collectAsList()) {
        rows.put(r.getLong(2), r);
      }
      for (int s = 0; s < q.rows(); s++) {
        Row row = rows.get(samplePos[s]);
        if (row == null) {
          continue; // counted by countMismatches
        }
        rowsChecked++;
        double lse = row.getDouble(row.fieldIndex("lse"));
        double refLse = ref.lse()[s];
        lseErr = Math.max(lseErr, lse == refLse ? 0 : Math.abs(lse - refLse));
        float[] o = OutputTable.outputVector(row, format);
        if (o == null || o.length != dim) {
          oErr = Double.POSITIVE_INFINITY;
          continue;
        }
        for (int c = 0; c < dim; c++) {
          // a 16-bit output format adds its own rounding (half an ulp) to the kernel's error
          double rounding = format == VectorEncoding.BF16 ? Math.abs(ref.o(s, c)) * 0x1p-8 : 0;
          double err = Math.max(0, Math.abs(o[c] - ref.o(s, c)) - rounding);
          oErr = Double.isNaN(err) ? Double.POSITIVE_INFINITY : Math.max(oErr, err);
        }
      }
    }
    return new Errors(oErr, lseErr, rowsChecked, missing);
  }

  /** Query tokens without exactly one output row, plus output rows that match no query token. */
  private static long countMismatches(Dataset<Row> queries, Dataset<Row> output) {
    Dataset<Row> q = queries.select(col(TokenTable.DOC_ID).cast("string").as("q_doc"),
        col(TokenTable.HEAD).cast("int").as("q_head"), col(TokenTable.POS).cast("long").as("q_pos"));
    Dataset<Row> o = output.groupBy(TokenTable.DOC_ID, TokenTable.HEAD, TokenTable.POS).count();
    return q.join(o, col("q_doc").equalTo(col(TokenTable.DOC_ID)).and(col("q_head").equalTo(col(TokenTable.HEAD)))
            .and(col("q_pos").equalTo(col(TokenTable.POS))), "full_outer")
        .where(col("q_doc").isNull().or(col("count").isNull()).or(col("count").notEqual(1)))
        .count();
  }

  /** The table's distinct (doc, head)s, named as the job names them (doc ids as strings, heads as int). */
  static List<DocHead> docHeads(Dataset<Row> table) {
    List<DocHead> out = new ArrayList<>();
    for (Row r : table.select(col(TokenTable.DOC_ID).cast("string"), col(TokenTable.HEAD).cast("int")).distinct()
        .collectAsList()) {
      out.add(new DocHead(r.getString(0), r.getInt(1)));
    }
    return out;
  }

  /** One (doc, head)'s rows packed as the job packs them: query-side and key-side blocks by position. */
  private record Sides(List<PackedRows> queries, List<PackedRows> keys) {}

  /**
   * The (doc, head)'s fragments, made as the job makes them (same checks), assembled into blocks.
   * The (doc, head) is selected by one parallel scan and cached, then streamed to the driver a
   * partition at a time (one (doc, head) of a long document exceeds spark.driver.maxResultSize as
   * a single collect); streaming straight from the table scanned it one partition at a time.
   */
  private static Sides blocks(Dataset<Row> table, DocHead dh, TableRole role, VectorEncoding packedAs) {
    Dataset<Row> rows = table.where(col(TokenTable.DOC_ID).equalTo(dh.docId()).and(col(TokenTable.HEAD)
        .equalTo(dh.head()))).persist(org.apache.spark.storage.StorageLevel.DISK_ONLY());
    Map<Long, List<PackedRows>> q = new TreeMap<>();
    Map<Long, List<PackedRows>> kv = new TreeMap<>();
    try {
      rows.count();
      Iterator<Row> fragments = Fragments.pack(rows, "check", role, packedAs, ScoreOptions.MAX_BLOCK_SIZE, null, -1)
          .rows().toLocalIterator();
      while (fragments.hasNext()) {
        Row f = fragments.next();
        if (!f.isNullAt(7)) {
          throw new InputException(f.getString(7));
        }
        if (!f.isNullAt(8)) {
          q.computeIfAbsent(f.getLong(2), b -> new ArrayList<>()).add(PackedRows.of((byte[]) f.get(8)));
        }
        if (!f.isNullAt(9)) {
          kv.computeIfAbsent(f.getLong(2), b -> new ArrayList<>()).add(PackedRows.of((byte[]) f.get(9)));
        }
      }
    } finally {
      rows.unpersist(false);
    }
    return new Sides(assembled(dh, q), assembled(dh, kv));
  }

  private static List<PackedRows> assembled(DocHead dh, Map<Long, List<PackedRows>> byBlock) {
    List<PackedRows> out = new ArrayList<>(byBlock.size());
    for (List<PackedRows> fragments : byBlock.values()) {
      try {
        out.add(PackedRows.concat(fragments));
      } catch (IllegalArgumentException e) {
        throw new InputException(dh + ": " + e.getMessage());
      }
    }
    return out;
  }

  /**
   * {@code k} query rows evenly spaced over the blocks (in position order), the last row always
   * among them, as one block of fp32 rows; only the blocks holding a sampled row are widened, so a
   * document of any length is sampled (16M rows x d 128 do not fit one Java array).
   */
  private static QueryBlock sampled(List<PackedRows> blocks, int k) {
    int dim = blocks.get(0).dim();
    long total = 0;
    for (PackedRows b : blocks) {
      total += b.rows();
    }
    long[] pick = evenlySpaced(total, k);
    float[] q = new float[pick.length * dim];
    long[] pos = new long[pick.length];
    int block = 0;
    long blockStart = 0;
    QueryBlock widened = null;
    for (int i = 0; i < pick.length; i++) {
      while (pick[i] >= blockStart + blocks.get(block).rows()) {
        blockStart += blocks.get(block++).rows();
        widened = null;
      }
      if (widened == null) {
        widened = blocks.get(block).queryBlock();
      }
      int row = (int) (pick[i] - blockStart);
      System.arraycopy(widened.q(), row * dim, q, i * dim, dim);
      pos[i] = widened.pos()[row];
    }
    return new QueryBlock(pick.length, dim, q, pos);
  }

  static int[] evenlySpaced(int n, int k) {
    long[] picks = evenlySpaced((long) n, k);
    int[] out = new int[picks.length];
    for (int i = 0; i < picks.length; i++) {
      out[i] = (int) picks[i];
    }
    return out;
  }

  /** {@code min(n, k)} ascending indices in {@code [0, n)} evenly spaced, the last one included. */
  static long[] evenlySpaced(long n, int k) {
    int m = (int) Math.min(n, Math.max(1, k));
    long[] out = new long[m];
    for (int i = 0; i < m; i++) {
      out[i] = m == 1 ? n - 1 : i * (n - 1) / (m - 1); // the last row sees the most keys (causal)
    }
    return out;
  }
}
