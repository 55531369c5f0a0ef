package io.flashspark.attention;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Attention over some of the keys, for a block of query rows: the unit that the kernels produce
 * and that every merge (in a task, on an executor, across Spark, on the driver) combines.
 *
 * <p>Per row {@code r}: {@code o[r*dim .. r*dim+dim)} is the output already divided by its own
 * {@code l}; {@code m[r]} is the largest scaled score {@code scale * q.k} the row saw;
 * {@code l[r] = sum exp(scale * q.k - m[r])} over those keys, so {@code lse = m + ln l}.
 * A row that saw no key is <em>empty</em>: {@code m = -inf, l = 0, o = 0}; it carries weight
 * zero in a merge and is written out as {@code lse = -inf, o = 0}.
 *
 * <p>{@link #mergeFrom} is associative and commutative (within rounding), so partials may be
 * combined in any order or tree: that is what lets Spark reduce map-side, retry and speculate.
 */
public final class Partial implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int rows;
  private final int dim;
  private final float[] o;
  private final float[] m;
  private final float[] l;

  public Partial(int rows, int dim, float[] o, float[] m, float[] l) {
    if (o.length != (long) rows * dim || m.length != rows || l.length != rows) {
      throw new IllegalArgumentException("partial arrays do not match rows=" + rows + " dim=" + dim
          + ": o=" + o.length + " m=" + m.length + " l=" + l.length);
    }
    this.rows = rows;
    this.dim = dim;
    this.o = o;
    this.m = m;
    this.l = l;
  }

  /** A partial whose rows saw no key. */
  public static Partial empty(int rows, int dim) {
    float[] m = new float[rows];
    Arrays.fill(m, Float.NEGATIVE_INFINITY);
    return new Partial(rows, dim, new float[rows * dim], m, new float[rows]);
  }

  public int rows() { return rows; }
  public int dim() { return dim; }
  /** Normalised output rows, row-major {@code [rows][dim]}; exposed for the backends, not copied. */
  public float[] o() { return o; }
  public float[] m() { return m; }
  public float[] l() { return l; }

  public boolean isEmptyRow(int row) {
    return !(l[row] > 0f) || m[row] == Float.NEGATIVE_INFINITY;
  }

  /** Log-sum-exp of the row's scaled scores; {@code -inf} for an empty row. */
  public double lse(int row) {
    return isEmptyRow(row) ? Double.NEGATIVE_INFINITY : (double) m[row] + Math.log(l[row]);
  }

  /** Copy of one output row (zeros for an empty row). */
  public float[] outputRow(int row) {
    float[] out = new float[dim];
    if (!isEmptyRow(row)) {
      System.arraycopy(o, row * dim, out, 0, dim);
    }
    return out;
  }

  /**
   * Folds {@code other} (same query rows, other keys) into this partial by the online-softmax
   * rule and returns this. With {@code mx = max(m_a, m_b)}: {@code w_a = l_a e^(m_a - mx)},
   * {@code w_b = l_b e^(m_b - mx)}, {@code l = w_a + w_b}, {@code o = (w_a o_a + w_b o_b) / l}.
   * Empty rows are skipped, so {@code -inf - -inf} is never formed.
   */
  public Partial mergeFrom(Partial other) {
    if (other.rows != rows || other.dim != dim) {
      throw new IllegalArgumentException("cannot merge partials of different shapes: "
          + rows + "x" + dim + " and " + other.rows + "x" + other.dim);
    }
    for (int r = 0; r < rows; r++) {
      mergeRow(r, other.o, r * dim, other.m[r], other.l[r]);
    }
    return this;
  }

  /**
   * Folds one row of another partial ({@code o} at {@code offset}, its {@code m} and {@code l})
   * into row {@code row} of this one; an empty incoming row changes nothing.
   */
  public void mergeRow(int row, float[] otherO, int offset, float otherM, float otherL) {
    if (!(otherL > 0f) || otherM == Float.NEGATIVE_INFINITY) {
      return;
    }
    int base = row * dim;
    if (isEmptyRow(row)) {
      System.arraycopy(otherO, offset, o, base, dim);
      m[row] = otherM;
      l[row] = otherL;
      return;
    }
    float mx = Math.max(m[row], otherM);
    float wa = l[row] * (float) Math.exp(m[row] - mx);
    float wb = otherL * (float) Math.exp(otherM - mx);
    float sum = wa + wb;
    float ca = wa / sum;
    float cb = wb / sum;
    for (int c = 0; c < dim; c++) {
      o[base + c] = ca * o[base + c] + cb * otherO[offset + c];
    }
    m[row] = mx;
    l[row] = sum;
  }

  /** A new partial equal to the merge of {@code a} and {@code b}; neither is modified. */
  public static Partial merged(Partial a, Partial b) {
    return a.copy().mergeFrom(b);
  }

  public Partial copy() {
    return new Partial(rows, dim, o.clone(), m.clone(), l.clone());
  }
}
