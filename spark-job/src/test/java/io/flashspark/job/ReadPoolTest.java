package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadPoolExecutor;
import org.junit.jupiter.api.Test;

/** The executor's reading threads serve the task that queued first, even when tasks queue at once. */
class ReadPoolTest {
  @Test
  void readsOfTheFirstQueuedTaskRunFirstWhenTasksQueueTogether() throws Exception {
    ThreadPoolExecutor pool = DirectCells.ReadPool.get(8); // threads settling together race for the queue's head
    int threads = pool.getMaximumPoolSize();
    ConcurrentLinkedQueue<Long> started = new ConcurrentLinkedQueue<>();
    List<DirectCells.ReadJob> jobs = new ArrayList<>();
    // the later task's reads reach the idle threads first, the first task's a moment after
    for (long task : new long[] {1, 0}) {
      for (int i = 0; i < threads; i++) {
        DirectCells.ReadJob job = new DirectCells.ReadJob(null, new long[] {task, i}, () -> {
          started.add(task);
          Thread.sleep(50);
          return new DirectCells.Reader.Gathered();
        });
        jobs.add(job);
        pool.execute(job);
      }
    }
    for (DirectCells.ReadJob job : jobs) {
      job.get();
    }
    List<Long> order = new ArrayList<>(started);
    for (int i = 0; i < threads; i++) {
      assertEquals(0L, order.get(i), "the first " + threads + " reads to start are the first task's: " + order);
    }
  }
}
