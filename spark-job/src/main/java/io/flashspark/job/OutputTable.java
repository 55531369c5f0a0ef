package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The output table: {@code doc_id string, head int, pos long, o array<float>, lse double}, one
 * row per query token. A row that saw no key has {@code lse = -Infinity} and {@code o} all zeros.
 */
public final class OutputTable {
  public static final StructType SCHEMA = DataTypes.createStructType(List.of(
      DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, false),
      DataTypes.createStructField(TokenTable.HEAD, DataTypes.IntegerType, false),
      DataTypes.createStructField(TokenTable.POS, DataTypes.LongType, false),
      DataTypes.createStructField("o", DataTypes.createArrayType(DataTypes.FloatType, false), false),
      DataTypes.createStructField("lse", DataTypes.DoubleType, false)));

  private OutputTable() {}

  /** Refuses a table that is not a score output (bad input to {@code check}). */
  static void checkSchema(org.apache.spark.sql.Dataset<Row> table, String name) {
    List<String> have = List.of(table.schema().fieldNames());
    List<String> missing = new ArrayList<>();
    for (String c : SCHEMA.fieldNames()) {
      if (!have.contains(c)) {
        missing.add(c);
      }
    }
    if (!missing.isEmpty()) {
      throw new InputException("output table '" + name + "' is missing column(s) " + String.join(", ", missing)
          + " (a score output has " + String.join(", ", SCHEMA.fieldNames()) + ")");
    }
  }

  public static List<Row> rows(BlockKey key, BlockPartial merged) {
    Partial p = merged.partial();
    List<Row> rows = new ArrayList<>(p.rows());
    for (int r = 0; r < p.rows(); r++) {
      rows.add(RowFactory.create(key.docHead().docId(), key.docHead().head(), merged.pos()[r],
          p.outputRow(r), p.lse(r)));
    }
    return rows;
  }
}
