package io.flashspark.job;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.spark.TaskContext;

/**
 * Rows a producer makes on a thread of its own, read by the task's thread as they come: the cells
 * compute (the GPU busy) while the stage downstream (expanding partials into rows, writing
 * Parquet) works on the query blocks already done, instead of one after the other.
 *
 * <p>The producer's failure is thrown again on the task's thread, as it was (so bad input keeps its
 * exit code). When the task ends, for whatever reason, the producer is asked to stop (its next
 * row throws) and the task waits for it, so nothing it holds (a GPU stream, device memory) outlives
 * the task. A killed task's thread stops waiting at once. Rows wait in an unbounded queue: the
 * producer's results are in memory anyway (the partials it builds rows from are released as they
 * are handed over).
 */
final class StreamedRows<T> implements Iterator<T> {
  /** Makes the rows, handing each to {@code out}; a cancelled consumer makes {@code out} throw. */
  @FunctionalInterface
  interface Producer<T> {
    void produce(Consumer<T> out) throws Exception;
  }

  private static final Object END = new Object();

  private record Failure(Throwable cause) {}

  private static final org.apache.logging.log4j.Logger LOG = org.apache.logging.log4j.LogManager.getLogger(StreamedRows.class);

  private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private final TaskContext task;
  private final String name;
  private volatile boolean cancelled;
  private volatile long producedAt;
  private volatile int waitingAtEnd; // rows made but not yet taken when the producer finished
  private final Consumer<Long> tailNanos;
  private Object next;
  private boolean done;

  private StreamedRows(TaskContext task, String name, Consumer<Long> tailNanos) {
    this.task = task;
    this.name = name;
    this.tailNanos = tailNanos;
  }

  /**
   * Starts {@code producer} on a daemon thread named {@code name}. {@code tailNanos} (may be null)
   * receives how long the consumer took after the producer's last row: the part of the downstream
   * work that did not overlap the production.
   */
  static <T> Iterator<T> start(String name, Producer<T> producer, Consumer<Long> tailNanos) {
    StreamedRows<T> rows = new StreamedRows<>(TaskContext.get(), name, tailNanos);
    Thread thread = new Thread(() -> {
      try {
        producer.produce(row -> {
          if (rows.cancelled) {
            throw new CancellationException("the task reading these rows has ended");
          }
          rows.queue.add(row);
        });
        rows.producedAt = System.nanoTime();
        rows.waitingAtEnd = rows.queue.size();
        rows.queue.add(END);
      } catch (Throwable t) {
        rows.queue.add(new Failure(t));
      }
    }, name);
    thread.setDaemon(true);
    if (rows.task != null) {
      rows.task.addTaskCompletionListener(ctx -> {
        rows.cancelled = true;
        boolean interrupted = false;
        while (thread.isAlive()) {
          try {
            thread.join();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      });
    }
    thread.start();
    return rows;
  }

  @Override public boolean hasNext() {
    if (next == null && !done) {
      Object item = take();
      if (item == END) {
        done = true;
        long tail = Math.max(0, System.nanoTime() - producedAt);
        if (tailNanos != null) {
          tailNanos.accept(tail);
        }
        LOG.info("{}: its rows taken {} ms after the last was made ({} waiting then)", name, tail / 1_000_000,
            waitingAtEnd);
      } else if (item instanceof Failure f) {
        done = true;
        throw rethrown(f.cause());
      } else {
        next = item;
      }
    }
    return next != null;
  }

  @SuppressWarnings("unchecked")
  @Override public T next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    T row = (T) next;
    next = null;
    return row;
  }

  private Object take() {
    try {
      while (true) {
        Object item = queue.poll(100, TimeUnit.MILLISECONDS);
        if (item != null) {
          return item;
        }
        if (task != null) {
          task.killTaskIfInterrupted(); // a killed task stops waiting
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for computed rows", e);
    }
  }

  /** The producer's failure as the consumer's: unchecked ones as they are, so messages and types survive. */
  private static RuntimeException rethrown(Throwable t) {
    if (t instanceof Error e) {
      throw e;
    }
    if (t instanceof RuntimeException r) {
      return r;
    }
    return new IllegalStateException(t.getMessage(), t);
  }
}
