package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

/** Rows computed on a thread of their own and read by the task's thread as they come. */
class StreamedRowsTest extends SparkTestBase {
  @Test
  void everyRowArrivesOnceInOrderAndTheTailAfterTheLastIsTimed() {
    AtomicLong tail = new AtomicLong(-1);
    Iterator<Integer> rows = StreamedRows.start("test-producer", out -> {
      for (int i = 0; i < 20_000; i++) {
        out.accept(i);
        if (i % 5000 == 0) {
          Thread.sleep(20); // the consumer catches up and waits
        }
      }
    }, tail::set);
    int expected = 0;
    while (rows.hasNext()) {
      assertEquals(expected++, rows.next());
    }
    assertEquals(20_000, expected);
    assertFalse(rows.hasNext());
    assertThrows(NoSuchElementException.class, rows::next);
    assertTrue(tail.get() >= 0, "the consumer's time after the last row is reported once it is done");
  }

  @Test
  void theProducersFailureReachesTheConsumerAsItWasAfterTheRowsBeforeIt() {
    IllegalArgumentException bad = new IllegalArgumentException(InputException.MARKER + "doc 'a' head 0: position 7 twice");
    Iterator<Integer> rows = StreamedRows.start("test-producer", out -> {
      out.accept(1);
      out.accept(2);
      throw bad;
    }, null);
    assertEquals(1, rows.next());
    assertEquals(2, rows.next());
    // same object: its type and message decide the job's exit code (bad input: 2)
    assertSame(bad, assertThrows(IllegalArgumentException.class, rows::hasNext));
  }

  @Test
  void aCheckedFailureIsWrappedWithItsMessage() {
    Iterator<Integer> rows = StreamedRows.start("test-producer", out -> {
      throw new java.io.IOException("device file gone");
    }, null);
    IllegalStateException e = assertThrows(IllegalStateException.class, rows::hasNext);
    assertEquals("device file gone", e.getMessage());
    assertTrue(e.getCause() instanceof java.io.IOException);
  }

  static final AtomicInteger STARTED = new AtomicInteger();
  static final AtomicInteger STOPPED = new AtomicInteger();
  static final AtomicInteger CANCELLED = new AtomicInteger();

  @Test
  void aTaskThatFailsWhileReadingStopsItsProducerBeforeItEnds() throws InterruptedException {
    STARTED.set(0);
    STOPPED.set(0);
    CANCELLED.set(0);
    SparkException e = assertThrows(SparkException.class, () -> spark.range(0, 4, 1, 4).javaRDD().mapPartitions(it -> {
      Iterator<Long> rows = StreamedRows.start("test-endless-producer", out -> {
        STARTED.incrementAndGet();
        try {
          for (long i = 0; ; i++) { // would never end on its own
            out.accept(i);
            Thread.sleep(1);
          }
        } catch (CancellationException cancelled) {
          CANCELLED.incrementAndGet();
          throw cancelled;
        } finally {
          STOPPED.incrementAndGet();
        }
      }, null);
      List<Long> taken = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        taken.add(rows.next());
      }
      throw new IllegalStateException("the writer failed after " + taken);
    }).count());
    assertTrue(e.getMessage().contains("the writer failed after [0, 1, 2, 3, 4]"), e.getMessage());
    // tasks still running when the job failed are killed; each one's producer stops with it
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (STOPPED.get() < STARTED.get() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertTrue(STARTED.get() >= 1);
    assertEquals(STARTED.get(), STOPPED.get(), "every producer stopped");
    assertEquals(STARTED.get(), CANCELLED.get(), "each by the end of its task, not on its own");
  }
}
