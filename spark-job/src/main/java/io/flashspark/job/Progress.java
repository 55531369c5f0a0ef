package io.flashspark.job;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Progress for long jobs, on stderr: the job's own steps, and for each Spark stage its finished
 * tasks, at most every few seconds.
 */
public final class Progress extends SparkListener {
  private static final long REPORT_EVERY_MS = 5000;
  private final PrintStream out;
  private final long start = System.currentTimeMillis();
  private final AtomicInteger finishedTasks = new AtomicInteger();
  private volatile int stageTasks;
  private volatile String stageName = "";
  private volatile long lastReport;

  public Progress(PrintStream out) {
    this.out = out;
  }

  public static Progress quiet() {
    return new Progress(new PrintStream(java.io.OutputStream.nullOutputStream()));
  }

  public void step(String message) {
    out.printf("[flashspark %6.1fs] %s%n", (System.currentTimeMillis() - start) / 1000.0, message);
    out.flush();
  }

  @Override public void onStageSubmitted(SparkListenerStageSubmitted event) {
    finishedTasks.set(0);
    stageTasks = event.stageInfo().numTasks();
    stageName = event.stageInfo().name();
  }

  @Override public void onTaskEnd(SparkListenerTaskEnd event) {
    int done = finishedTasks.incrementAndGet();
    long now = System.currentTimeMillis();
    if (now - lastReport >= REPORT_EVERY_MS && stageTasks > 1) {
      lastReport = now;
      step(String.format("  stage '%s': %d/%d tasks", shortName(stageName), done, stageTasks));
    }
  }

  @Override public void onStageCompleted(SparkListenerStageCompleted event) {
    long ms = event.stageInfo().completionTime().isDefined() && event.stageInfo().submissionTime().isDefined()
        ? (Long) event.stageInfo().completionTime().get() - (Long) event.stageInfo().submissionTime().get() : -1;
    if (ms >= 2000) {
      step(String.format("  stage '%s' done: %d tasks in %.1fs", shortName(event.stageInfo().name()),
          event.stageInfo().numTasks(), ms / 1000.0));
    }
  }

  private static String shortName(String name) {
    int at = name.indexOf(" at ");
    return at > 0 ? name.substring(0, at) : name;
  }
}
