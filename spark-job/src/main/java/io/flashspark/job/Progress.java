package io.flashspark.job;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Progress for long jobs, on stderr: the job's own steps, for each Spark stage its finished
 * tasks, and for the attention stage the fraction of query-key pairs computed with an estimate of
 * the time left, at most every few seconds. Running tasks report their pairs through an
 * accumulator that travels with executor heartbeats ({@code spark.executor.heartbeatInterval},
 * 10 s by default), so a stage of a few long tasks still shows progress.
 */
public final class Progress extends SparkListener {
  private static final long REPORT_EVERY_MS = 5000;
  /** The local property {@code SparkContext.setJobDescription} sets (Spark's constant is internal). */
  private static final String JOB_DESCRIPTION = "spark.job.description";
  private final PrintStream out;
  private final long start = System.currentTimeMillis();
  private final Map<Integer, int[]> stages = new ConcurrentHashMap<>(); // stage id -> {done, total}
  private final Map<Integer, String> names = new ConcurrentHashMap<>();
  private volatile long lastReport;
  private volatile Work work;
  /** {time ms, fraction} of the first progress report of the current work. */
  private volatile double[] first;
  /** task id -> pairs it reported so far (running tasks only). */
  private final Map<Long, Long> running = new ConcurrentHashMap<>();

  /** The pairs the compute stage will do, counted by {@code done}; null to stop reporting. */
  private record Work(String label, double total, LongAccumulator done) {}

  public Progress(PrintStream out) {
    this.out = out;
  }

  public static Progress quiet() {
    return new Progress(new PrintStream(java.io.OutputStream.nullOutputStream()));
  }

  /** Reports {@code label} progress from {@code done} against {@code total}; a null label stops it. */
  public void expectWork(String label, double total, LongAccumulator done) {
    running.clear();
    first = null;
    work = label == null ? null : new Work(label, total, done);
  }

  public void step(String message) {
    out.printf("[flashspark %6.1fs] %s%n", (System.currentTimeMillis() - start) / 1000.0, message);
    out.flush();
  }

  /**
   * Runs {@code action} with Spark's job description set to {@code what}: Spark's own stage names
   * for Dataset operations say nothing to a user ("$anonfun$withThreadLocalCaptured$2"), so the
   * progress lines, the web UI and the event log name the stages by this instead.
   */
  public static <T> T described(SparkSession spark, String what, java.util.function.Supplier<T> action) {
    SparkContext sc = spark.sparkContext();
    String before = sc.getLocalProperty(JOB_DESCRIPTION);
    sc.setJobDescription(what);
    try {
      return action.get();
    } finally {
      sc.setJobDescription(before);
    }
  }

  @Override public void onStageSubmitted(SparkListenerStageSubmitted event) {
    stages.put(event.stageInfo().stageId(), new int[] {0, event.stageInfo().numTasks()});
    String description = event.properties() == null ? null
        : event.properties().getProperty(JOB_DESCRIPTION);
    names.put(event.stageInfo().stageId(), description != null ? description : shortName(event.stageInfo().name()));
  }

  @Override public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate event) {
    Work w = work;
    if (w == null) {
      return;
    }
    for (scala.Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task
        : CollectionConverters.asJava(event.accumUpdates())) {
      for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
        if (info.id() == w.done().id() && info.update().isDefined()) {
          running.put((Long) task._1(), ((Number) info.update().get()).longValue());
        }
      }
    }
    reportWork(w);
  }

  private void reportWork(Work w) {
    long now = System.currentTimeMillis();
    if (now - lastReport < REPORT_EVERY_MS) {
      return;
    }
    double done = w.done().value();
    for (long v : running.values()) {
      done += v;
    }
    double fraction = Math.min(1, done / Math.max(1, w.total()));
    if (fraction <= 0) {
      return;
    }
    lastReport = now;
    if (first == null) { // the rate is measured from the first report on: shipping blocks came before
      first = new double[] {now, fraction};
      step(String.format("  %s: %.1f%% of %.3g query-key pairs", w.label(), 100 * fraction, w.total()));
      return;
    }
    double rate = (fraction - first[1]) / Math.max(1, now - first[0]) * 1000; // per second
    step(String.format("  %s: %.1f%% of %.3g query-key pairs, %s left (estimated)", w.label(), 100 * fraction,
        w.total(), rate > 0 ? duration((1 - fraction) / rate) : "?"));
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60)
        : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
  }

  @Override public void onTaskEnd(SparkListenerTaskEnd event) {
    running.remove(event.taskInfo().taskId());
    Work w = work;
    int[] stage = stages.get(event.stageId());
    if (stage == null) {
      return;
    }
    int done;
    synchronized (stage) {
      done = ++stage[0];
    }
    long now = System.currentTimeMillis();
    if (w != null && w.done().value() > 0) {
      reportWork(w);
    } else if (now - lastReport >= REPORT_EVERY_MS && stage[1] > 1) {
      lastReport = now;
      step(String.format("  stage %d '%s': %d/%d tasks", event.stageId(), names.get(event.stageId()), done,
          stage[1]));
    }
  }

  @Override public void onStageCompleted(SparkListenerStageCompleted event) {
    stages.remove(event.stageInfo().stageId());
    long ms = event.stageInfo().completionTime().isDefined() && event.stageInfo().submissionTime().isDefined()
        ? (Long) event.stageInfo().completionTime().get() - (Long) event.stageInfo().submissionTime().get() : -1;
    if (ms >= 2000) {
      step(String.format("  stage %d '%s' done: %d tasks in %.1fs", event.stageInfo().stageId(),
          names.getOrDefault(event.stageInfo().stageId(), shortName(event.stageInfo().name())),
          event.stageInfo().numTasks(), ms / 1000.0));
    }
    names.remove(event.stageInfo().stageId());
  }

  private static String shortName(String name) {
    int at = name.indexOf(" at ");
    return at > 0 ? name.substring(0, at) : name;
  }
}
