package io.flashspark.job;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The executors a job is planned for, as Spark describes them: how many, the tasks each runs at
 * once (its cores, and its GPUs where tasks take GPU shares), and the GPUs each was given. In
 * local mode the driver is the one executor, with its cores and (for the GPU backend) one GPU.
 *
 * @param gpusPerExecutor {@code spark.executor.resource.gpu.amount} (local mode, GPU backend: 1)
 * @param tasksPerGpu tasks sharing one GPU at once: 1 / {@code spark.task.resource.gpu.amount}
 *     (local mode: every task slot)
 */
record ClusterShape(boolean local, int executors, int coresPerExecutor, int taskCpus, int gpusPerExecutor,
    int tasksPerGpu) {
  /**
   * Cells per GPU the plan aims for; every problem still gets a cell of its own, so a job of eight
   * heads has eight cells on one GPU. One, because a cell's launch keeps its K/V on the device and
   * streams its queries through, so a second cell of the same problem on the same GPU makes the GPU
   * no faster and ships the whole K/V once more (a Q shard each): on one H200 the 1M-token x
   * 8-head job took the same time in 8 and 16 cells (27.1 / 27.9 s), and a 16M-token head in four
   * cells would move 4 x 8.6 GB of K/V instead of one.
   */
  static final int CELLS_PER_GPU = 1;

  /** {@code localGpu}: whether local mode computes on its GPU (the GPU backend); a cluster says itself. */
  static ClusterShape of(SparkSession spark, boolean localGpu) {
    SparkConf conf = spark.sparkContext().getConf();
    int taskCpus = Math.max(1, conf.getInt("spark.task.cpus", 1));
    int parallelism = spark.sparkContext().defaultParallelism();
    if (spark.sparkContext().isLocal()) {
      return new ClusterShape(true, 1, parallelism, taskCpus, localGpu ? 1 : 0, Math.max(1, parallelism / taskCpus));
    }
    // executors registered so far (the input has been read by now, so they are up), the driver aside
    int executors = spark.sparkContext().statusTracker().getExecutorInfos().length - 1;
    int cores = conf.getInt("spark.executor.cores", 0);
    if (executors < 1) {
      executors = conf.getInt("spark.executor.instances", cores > 0 ? Math.max(1, parallelism / cores) : 1);
    }
    if (cores < 1) { // standalone without spark.executor.cores: an executor takes its worker's cores
      cores = Math.max(1, parallelism / Math.max(1, executors));
    }
    int gpus = (int) Math.floor(conf.getDouble("spark.executor.resource.gpu.amount", 0));
    double taskGpu = conf.getDouble("spark.task.resource.gpu.amount", 0);
    int perGpu = taskGpu > 0 && taskGpu < 1 ? (int) Math.floor(1 / taskGpu + 1e-9) : 1;
    return new ClusterShape(false, Math.max(1, executors), cores, taskCpus, gpus, perGpu);
  }

  /** Tasks one executor runs at once: its cores, and its GPU shares where tasks take them. */
  int slotsPerExecutor() {
    int byCores = Math.max(1, coresPerExecutor / taskCpus);
    return gpusPerExecutor > 0 && !local ? Math.min(byCores, gpusPerExecutor * tasksPerGpu) : byCores;
  }

  int gpus() {
    return executors * gpusPerExecutor;
  }

  /**
   * Cells to aim for. CPU: one per task slot (the CPU kernel uses all of an executor's cores in a
   * cell, more cells only replicate more blocks). GPU: {@link #CELLS_PER_GPU} per GPU: a problem
   * is split only to spread it over GPUs, each extra cell shipping another copy of its K/V. The
   * reading, routing and writing tasks still use every slot, and up to the task slots each cell
   * has a task of its own.
   */
  int defaultCells() {
    if (gpusPerExecutor > 0) {
      return Math.max(1, gpus() * Math.min(tasksPerGpu, CELLS_PER_GPU));
    }
    return Math.max(1, executors * slotsPerExecutor());
  }

  String description() {
    String gpu = gpusPerExecutor == 0 ? ""
        : String.format(", %d GPU%s each (%d task%s per GPU)", gpusPerExecutor, gpusPerExecutor == 1 ? "" : "s",
            tasksPerGpu, tasksPerGpu == 1 ? "" : "s");
    return String.format("%s%d executor%s x %d task slot%s%s", local ? "local: " : "", executors,
        executors == 1 ? "" : "s", slotsPerExecutor(), slotsPerExecutor() == 1 ? "" : "s", gpu);
  }
}
