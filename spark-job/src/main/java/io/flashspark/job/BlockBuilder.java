package io.flashspark.job;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Packs the tokens of one block into a {@link TokenBlock}, checking them on the way: equal
 * dimensions across q, k, v and rows, finite values, no duplicate position. Problems are
 * recorded in the block (first one found), never thrown, so the driver can report them all.
 */
public final class BlockBuilder {
  private BlockBuilder() {}

  public static TokenBlock build(BlockKey key, Iterable<Token> tokens, TableRole role) {
    List<Token> sorted = new ArrayList<>();
    tokens.forEach(sorted::add);
    sorted.sort(Comparator.comparingLong(Token::pos));
    int rows = sorted.size();
    long[] pos = new long[rows];
    String where = key.docHead().toString();
    String problem = null;
    int dim = -1;
    String dimSource = null;
    for (int i = 0; i < rows && problem == null; i++) {
      Token t = sorted.get(i);
      pos[i] = t.pos();
      if (t.problem() != null) {
        problem = where + " pos " + t.pos() + ": " + t.problem();
        break;
      }
      if (i > 0 && pos[i] == pos[i - 1]) {
        problem = where + ": duplicate position " + pos[i];
        break;
      }
      for (String column : role.vectorColumns()) {
        float[] x = vector(t, column);
        if (dim < 0) {
          dim = x.length;
          dimSource = "column '" + column + "' at pos " + t.pos();
        }
        if (x.length != dim) {
          problem = where + ": column '" + column + "' at pos " + t.pos() + " has " + x.length
              + " values but " + dimSource + " has " + dim;
          break;
        }
        int bad = firstNonFinite(x);
        if (bad >= 0) {
          problem = where + ": column '" + column + "' at pos " + t.pos() + " has " + x[bad]
              + " at index " + bad;
          break;
        }
      }
    }
    if (problem == null && dim == 0) {
      problem = where + ": vectors of length 0 at pos " + pos[0];
    }
    if (problem != null) {
      return new TokenBlock(key, rows, Math.max(dim, 0), pos, null, null, null, problem);
    }
    return new TokenBlock(key, rows, dim, pos,
        role.has("q") ? pack(sorted, "q", dim) : null,
        role.has("k") ? pack(sorted, "k", dim) : null,
        role.has("v") ? pack(sorted, "v", dim) : null,
        null);
  }

  private static float[] vector(Token t, String column) {
    switch (column) {
      case "q": return t.q();
      case "k": return t.k();
      case "v": return t.v();
      default: throw new IllegalArgumentException(column);
    }
  }

  private static float[] pack(List<Token> tokens, String column, int dim) {
    float[] out = new float[tokens.size() * dim];
    for (int i = 0; i < tokens.size(); i++) {
      System.arraycopy(vector(tokens.get(i), column), 0, out, i * dim, dim);
    }
    return out;
  }

  private static int firstNonFinite(float[] x) {
    for (int i = 0; i < x.length; i++) {
      if (!Float.isFinite(x[i])) {
        return i;
      }
    }
    return -1;
  }
}
