package io.flashspark.job;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
  private final Map<Integer, int[]> stages = new ConcurrentHashMap<>(); // stage id -> {done, total}
  private final Map<Integer, String> names = new ConcurrentHashMap<>();
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
    stages.put(event.stageInfo().stageId(), new int[] {0, event.stageInfo().numTasks()});
    names.put(event.stageInfo().stageId(), shortName(event.stageInfo().name()));
  }

  @Override public void onTaskEnd(SparkListenerTaskEnd event) {
    int[] stage = stages.get(event.stageId());
    if (stage == null) {
      return;
    }
    int done;
    synchronized (stage) {
      done = ++stage[0];
    }
    long now = System.currentTimeMillis();
    if (now - lastReport >= REPORT_EVERY_MS && stage[1] > 1) {
      lastReport = now;
      step(String.format("  stage %d '%s': %d/%d tasks", event.stageId(), names.get(event.stageId()), done,
          stage[1]));
    }
  }

  @Override public void onStageCompleted(SparkListenerStageCompleted event) {
    stages.remove(event.stageInfo().stageId());
    names.remove(event.stageInfo().stageId());
    long ms = event.stageInfo().completionTime().isDefined() && event.stageInfo().submissionTime().isDefined()
        ? (Long) event.stageInfo().completionTime().get() - (Long) event.stageInfo().submissionTime().get() : -1;
    if (ms >= 2000) {
      step(String.format("  stage %d '%s' done: %d tasks in %.1fs", event.stageInfo().stageId(),
          shortName(event.stageInfo().name()), event.stageInfo().numTasks(), ms / 1000.0));
    }
  }

  private static String shortName(String name) {
    int at = name.indexOf(" at ");
    return at > 0 ? name.substring(0, at) : name;
  }
}
