package io.flashspark.job;

import io.flashspark.attention.KeyValueBlock;
import io.flashspark.attention.QueryBlock;
import java.io.Serializable;

/**
 * The tokens of one block of one (document, head), sorted by position, vectors packed row-major
 * {@code [rows][dim]}; q, or k and v, may be null when the table does not carry them.
 * {@code problem} is the first thing wrong with the block's input (null when valid): blocks
 * carry their problems as data so that validation collects them all before any output exists.
 */
public record TokenBlock(BlockKey key, int rows, int dim, long[] pos, float[] q, float[] k, float[] v,
    String problem) implements Serializable {

  public QueryBlock queryBlock() {
    return new QueryBlock(rows, dim, q, pos);
  }

  public KeyValueBlock keyValueBlock() {
    return new KeyValueBlock(rows, dim, k, v, pos);
  }

  public long maxPos() {
    return rows == 0 ? Long.MIN_VALUE : pos[rows - 1];
  }

  public long minPos() {
    return rows == 0 ? Long.MAX_VALUE : pos[0];
  }
}
