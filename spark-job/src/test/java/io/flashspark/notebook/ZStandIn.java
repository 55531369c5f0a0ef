package io.flashspark.notebook;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What the notes use of Zeppelin's {@code z} (ZeppelinContext): {@code show} computes the rows
 * (so a broken query fails the note) and prints the first few. Public: the REPL's code calls it.
 */
public final class ZStandIn {
  private final List<String> shown = new ArrayList<>();

  public void show(Dataset<?> df) {
    show(df, 1000);
  }

  public void show(Dataset<?> df, int maxResult) {
    List<Row> rows = df.toDF().limit(maxResult).collectAsList();
    shown.add(df.toDF().schema().simpleString() + ": " + rows.size() + " rows");
    rows.stream().limit(5).forEach(r -> System.out.println("    z.show | " + r));
  }

  public List<String> shown() {
    return shown;
  }
}
