package io.flashspark.job;

import java.util.List;

/** Which vectors a token table must carry. */
public enum TableRole {
  /** Self-attention input: q, k and v. */
  SELF(List.of("q", "k", "v")),
  /** Keys and values of a cross-attention job (a q column, if present, is ignored). */
  KEYS(List.of("k", "v")),
  /** The separate query table of a cross-attention job. */
  QUERIES(List.of("q"));

  private final List<String> vectorColumns;

  TableRole(List<String> vectorColumns) {
    this.vectorColumns = vectorColumns;
  }

  public List<String> vectorColumns() {
    return vectorColumns;
  }

  /** How messages name a table of this role. */
  public String label() {
    return this == QUERIES ? "queries" : "input";
  }

  public boolean has(String column) {
    return vectorColumns.contains(column);
  }
}
