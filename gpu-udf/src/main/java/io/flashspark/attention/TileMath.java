package io.flashspark.attention;

/**
 * The three inner loops of the CPU kernel, on row-major tiles. Two implementations compute the
 * same thing: {@link VectorTileMath} (the incubating Vector API, explicit SIMD with register
 * blocking, used when the JVM has {@code jdk.incubator.vector}, as Spark's launcher provides) and
 * {@link ScalarTileMath} (plain loops, the fallback and the reference the tests compare it to).
 */
interface TileMath {
  /** {@code s[i*sStride + j] = Σ_c qs[i*dim + c] · kT[c*kStride + k0 + j]} for i < rows, j < n. */
  void scores(float[] qs, int rows, int dim, float[] kT, int kStride, int k0, int n, float[] s, int sStride);

  /** Largest of {@code x[off .. off+n)}. */
  float max(float[] x, int off, int n);

  /** {@code x[j] = exp(x[j] - shift)} over {@code [off, off+n)}; returns the sum of the results. */
  float expShifted(float[] x, int off, int n, float shift);

  /** {@code x[off .. off+n) *= factor}. */
  void scale(float[] x, int off, int n, float factor);

  /** {@code acc[i*dim + c] += Σ_j p[i*pStride + j] · v[(v0 + j)*dim + c]} for i < rows, j < n. */
  void accumulate(float[] acc, int rows, int dim, float[] p, int pStride, int n, float[] v, int v0);

  /** The fastest implementation this JVM can run. */
  static TileMath best() {
    try {
      if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
          && !Boolean.getBoolean("flashspark.cpu.scalar")) {
        return (TileMath) Class.forName("io.flashspark.attention.VectorTileMath").getDeclaredConstructor()
            .newInstance();
      }
    } catch (ReflectiveOperationException | LinkageError e) {
      // fall through: the scalar loops need nothing
    }
    return new ScalarTileMath();
  }
}
