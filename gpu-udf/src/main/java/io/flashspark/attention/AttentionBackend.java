package io.flashspark.attention;

import java.util.List;

/**
 * Computes partials: the one interface the Spark job sees, so {@code --backend cpu} and
 * {@code --backend gpu} are interchangeable. Implementations are thread-safe and reused by every
 * task of a JVM.
 */
public interface AttentionBackend {
  /** Short name for logs and summaries, e.g. "cpu" or "gpu:NVIDIA H100 80GB HBM3". */
  String name();

  /**
   * For each {@code i}, attention of {@code queries.get(i)} over all of {@code kvs.get(i)}, as a
   * partial over those keys. All problems share {@code spec}.
   */
  List<Partial> attend(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec);

  /**
   * The same computation, each partial handed to {@code sink} as soon as it is complete, in query
   * order, exactly once, on the calling thread: a caller can pass finished query blocks on (e.g.
   * to an output writer) while later ones are still computed. This default delivers them all when
   * the call is done; the GPU backend delivers them chunk by chunk as they come off the device.
   */
  default void attend(List<QueryBlock> queries, List<List<KeyValueBlock>> kvs, AttentionSpec spec, PartialSink sink) {
    List<Partial> partials = attend(queries, kvs, spec);
    for (int i = 0; i < partials.size(); i++) {
      sink.accept(i, partials.get(i));
    }
  }

  /**
   * Readies, for the calling thread, what a coming {@link #attend} call of about this size will
   * take (the GPU backend: a stream with its pinned staging ring and the launch's device buffers),
   * so that setting up overlaps whatever the caller does meanwhile (reading its blocks) instead of
   * delaying the call. An optimisation only: the call works the same without it, and whatever it
   * did not use goes back when the result is closed. This default readies nothing.
   */
  default Prepared prepare(int dim, long queryRows, long keyRows, AttentionSpec spec) {
    return Prepared.NONE;
  }

  /** What {@link #prepare} holds for the calling thread; closing returns what no call took. */
  @FunctionalInterface
  interface Prepared extends AutoCloseable {
    Prepared NONE = () -> {};

    @Override void close();
  }

  /** Receives the partials of one {@link #attend} call as they complete. */
  @FunctionalInterface
  interface PartialSink {
    /** {@code partial} is the result for {@code queries.get(query)}; the sink may keep it. */
    void accept(int query, Partial partial);
  }

  /**
   * Whether this backend computes problems of head dimension {@code dim} at {@code precision}
   * ({@code null}: the backend's own default). {@code --backend auto} falls back to the CPU when not.
   */
  default boolean supports(int dim, Precision precision) {
    return true;
  }

  /**
   * Query-key pairs worth putting in one {@link #attend} call at head dimension {@code dim}: callers
   * split larger work so that progress can be reported between calls. The GPU takes whole cells
   * (each call stages its key/value blocks once).
   */
  default long pairsPerCall(int dim) {
    return Long.MAX_VALUE;
  }

  /** Kernel time of this thread's last {@link #attend} call, in nanoseconds (0 if not measured). */
  default long lastKernelNanos() {
    return 0;
  }

  /**
   * Where the host's time went before this thread's last {@link #attend} call delivered its first
   * partial, in milliseconds, as text for a log line (e.g. planning the launch, staging keys and
   * values), or null where the backend does not say.
   */
  default String lastStartup() {
    return null;
  }
}
