package io.flashspark.job;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * What a score run measures for its summary: Spark's own per-stage metrics (shuffle bytes
 * written, wall time, task time) from a listener, and the job's accumulators (kernel time, cell
 * time, the time tasks spend writing output), so the summary can say where the time and the
 * bytes went.
 */
final class JobMetrics extends SparkListener {
  /** The counters tasks add to; travels with the task closures. */
  static final class Accumulators implements Serializable {
    private static final long serialVersionUID = 1L;
    final CollectionAccumulator<String> backends;
    final LongAccumulator kernelNanos;
    final LongAccumulator pairsDone;
    final LongAccumulator cellNanos;
    final LongAccumulator cellReadNanos;
    final LongAccumulator skippedInputBytes;
    final LongAccumulator outputNanos;
    final LongAccumulator mergeNanos;
    final CollectionAccumulator<Integer> cellStages;
    final CollectionAccumulator<Integer> mergeStages;

    Accumulators(SparkContext sc) {
      backends = sc.collectionAccumulator("flashspark backends");
      kernelNanos = sc.longAccumulator("flashspark kernel nanos");
      pairsDone = sc.longAccumulator("flashspark pairs done");
      cellNanos = sc.longAccumulator("flashspark cell nanos");
      cellReadNanos = sc.longAccumulator("flashspark cell read nanos");
      skippedInputBytes = sc.longAccumulator("flashspark skipped input bytes");
      outputNanos = sc.longAccumulator("flashspark output nanos");
      mergeNanos = sc.longAccumulator("flashspark merge nanos");
      cellStages = sc.collectionAccumulator("flashspark cell stages");
      mergeStages = sc.collectionAccumulator("flashspark merge stages");
    }
  }

  /** One completed stage: wall clock span, task time and shuffle bytes. */
  record Stage(int id, long submitted, long completed, long runMillis, long shuffleWritten, long shuffleRead) {}

  private final Map<Integer, Stage> stages = new ConcurrentHashMap<>();

  @Override public void onStageCompleted(SparkListenerStageCompleted event) {
    StageInfo info = event.stageInfo();
    TaskMetrics m = info.taskMetrics();
    long submitted = info.submissionTime().isDefined() ? (Long) info.submissionTime().get() : 0L;
    long completed = info.completionTime().isDefined() ? (Long) info.completionTime().get() : 0L;
    stages.put(info.stageId(), new Stage(info.stageId(), submitted, completed,
        m == null ? 0 : m.executorRunTime(),
        m == null ? 0 : m.shuffleWriteMetrics().bytesWritten(),
        m == null ? 0 : m.shuffleReadMetrics().totalBytesRead()));
  }

  List<Stage> stages() {
    List<Stage> out = new ArrayList<>(stages.values());
    out.sort(java.util.Comparator.comparingInt(Stage::id));
    return out;
  }
}
