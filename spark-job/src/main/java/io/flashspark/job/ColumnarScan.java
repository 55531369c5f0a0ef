package io.flashspark.job;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.FileSourceScanExec;
import org.apache.spark.sql.execution.InputAdapter;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ColumnarBatch;

/**
 * A packed token table read straight from its Parquet scan's column batches: each token is a view
 * over the batch's vectors ({@link org.apache.spark.sql.vectorized.ColumnarBatchRow}), its packed
 * vectors read where the scan decoded them ({@link TokenTable#binaryView}). The row path instead
 * turns every batch into Tungsten rows first, copying each vector into a fresh array and then into
 * the row (on 1.6 GB of bf16 tokens, 2 cores: 2.3-2.5 s of CPU for the scan through rows, 1.65-1.7 s
 * through batches).
 *
 * <p>Taken only where it is plainly the same data: a table whose plan, once its columns are
 * selected, is a columnar file scan and nothing else; string {@code doc_id}, int or long
 * {@code head} and {@code pos}, binary vectors. Anything else (array vectors, integer doc ids, a
 * filtered or computed Dataset, {@code -Dflashspark.columnarScan=false}) reads through rows.
 */
final class ColumnarScan {
  private ColumnarScan() {}

  /**
   * The table's scan as column batches, whether head and pos are int (else long), and the Hadoop
   * configuration the scan reads its files with (the session's: settings given at run time, such
   * as a file system's credentials, included), for those who read the files themselves.
   */
  record Tokens(RDD<ColumnarBatch> batches, boolean intHead, boolean intPos, org.apache.hadoop.conf.Configuration hadoop) {
    /**
     * {@code f} over each partition's token rows: read through {@link ParquetTokens} where the
     * partition's files allow (its vectors {@code vectors}), as the cells that read their own
     * input do, else views over the scan's batches ({@link BatchRows}).
     */
    RDD<InternalRow> flatMap(org.apache.spark.api.java.function.FlatMapFunction<Iterator<InternalRow>, InternalRow> f,
        List<String> vectors) {
      return new TokenRows(this, f, new ArrayList<>(vectors), new org.apache.spark.util.SerializableConfiguration(hadoop));
    }
  }

  /**
   * A scan's token rows through a function, partition by partition (the scan's own partitions): a
   * file partition is read by parquet-mr and the vectors' page reader ({@link ParquetTokens}:
   * on one thread of the development VM 630-900 MB/s of vectors, against 280-340 MB/s through
   * Spark's vectorized reader, which copies every value into column vectors first), any other
   * partition, or a file partition it does not take, through the scan's batches. The Hadoop
   * configuration travels in the stage's task binary (broadcast by Spark once per stage), so nothing
   * is shipped while the job only plans, or where the cells read their input themselves.
   */
  static final class TokenRows extends RDD<InternalRow> {
    private static final long serialVersionUID = 1L;
    private final RDD<ColumnarBatch> scan;
    private final boolean intHead;
    private final boolean intPos;
    private final org.apache.spark.api.java.function.FlatMapFunction<Iterator<InternalRow>, InternalRow> f;
    private final ArrayList<String> vectors;
    private final org.apache.spark.util.SerializableConfiguration conf;

    TokenRows(Tokens tokens, org.apache.spark.api.java.function.FlatMapFunction<Iterator<InternalRow>, InternalRow> f,
        ArrayList<String> vectors, org.apache.spark.util.SerializableConfiguration conf) {
      super(tokens.batches(), scala.reflect.ClassTag$.MODULE$.apply(InternalRow.class));
      this.scan = tokens.batches();
      this.intHead = tokens.intHead();
      this.intPos = tokens.intPos();
      this.f = f;
      this.vectors = vectors;
      this.conf = conf;
    }

    @Override public org.apache.spark.Partition[] getPartitions() {
      return scan.partitions();
    }

    @Override public scala.collection.immutable.Seq<String> getPreferredLocations(org.apache.spark.Partition split) {
      return scan.preferredLocations(split);
    }

    @Override public scala.collection.Iterator<InternalRow> compute(org.apache.spark.Partition split,
        org.apache.spark.TaskContext context) {
      ParquetTokens own = split instanceof org.apache.spark.sql.execution.datasources.FilePartition files
          ? ParquetTokens.of(files, conf.value(), intHead, intPos, vectors)
          : null;
      Iterator<InternalRow> rows;
      if (own != null) {
        context.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) c -> own.close()); // a failed or cancelled task leaves no file open
        rows = own;
      } else {
        rows = new BatchRows(scala.jdk.javaapi.CollectionConverters.asJava(scan.iterator(split, context)));
      }
      try {
        return scala.jdk.javaapi.CollectionConverters.asScala(f.call(rows));
      } catch (Exception e) {
        throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
      }
    }
  }

  static Optional<Tokens> of(Dataset<Row> table, TableRole role) {
    if (!Boolean.parseBoolean(System.getProperty("flashspark.columnarScan", "true"))) {
      return Optional.empty();
    }
    StructType schema = table.schema();
    List<String> names = new ArrayList<>(List.of(TokenTable.DOC_ID, TokenTable.HEAD, TokenTable.POS));
    names.addAll(role.vectorColumns());
    for (String name : names) {
      if (!List.of(schema.fieldNames()).contains(name)) {
        return Optional.empty(); // TokenTable.columns says what is missing
      }
    }
    DataType head = schema.apply(TokenTable.HEAD).dataType();
    DataType pos = schema.apply(TokenTable.POS).dataType();
    if (!(schema.apply(TokenTable.DOC_ID).dataType() instanceof StringType) || !isIntOrLong(head) || !isIntOrLong(pos)) {
      return Optional.empty();
    }
    for (String vector : role.vectorColumns()) {
      if (!(schema.apply(vector).dataType() instanceof BinaryType)) {
        return Optional.empty();
      }
    }
    Column[] columns = names.stream().map(table::col).toArray(Column[]::new);
    Dataset<Row> selected = table.select(columns);
    SparkPlan plan = plannedOnCpu(selected.sparkSession(), rapidsLoaded(selected.sparkSession()),
        () -> ((org.apache.spark.sql.classic.Dataset<Row>) selected).queryExecution().executedPlan());
    if (plan instanceof WholeStageCodegenExec w) {
      plan = w.child();
    }
    if (plan instanceof ColumnarToRowExec c) {
      plan = c.child();
    }
    if (plan instanceof InputAdapter a) {
      plan = a.child();
    }
    if (!(plan instanceof FileSourceScanExec scan) || !scan.supportsColumnar()
        || !names.equals(scanColumns(scan)) || !scan.dataFilters().isEmpty() || !scan.partitionFilters().isEmpty()) {
      return Optional.empty();
    }
    org.apache.hadoop.conf.Configuration hadoop = TokenTable.hadoopConf(selected.sparkSession());
    return Optional.of(new Tokens(scan.executeColumnar(), head instanceof IntegerType, pos instanceof IntegerType, hadoop));
  }

  /** The RAPIDS Accelerator's switch for putting SQL plans on the GPU (read as each query is planned). */
  static final String RAPIDS_SQL_ENABLED = "spark.rapids.sql.enabled";

  /** Whether the session's context loads the RAPIDS Accelerator ({@code spark.plugins}). */
  static boolean rapidsLoaded(org.apache.spark.sql.SparkSession spark) {
    return spark.sparkContext().getConf().get("spark.plugins", "").contains("com.nvidia.spark.SQLPlugin");
  }

  /**
   * {@code plan} made with the RAPIDS Accelerator's SQL planning off where {@code rapids} (the
   * session's setting restored after): the plugin would put the token table's scan on the GPU, and
   * the cells, which read the files themselves from the CPU scan's partitions, would find no file
   * scan and take the row path (session 9 on one H200: 23 s for the 1M job under the plugin, its
   * scan's batches copied back to the host). A query of the same session planned at that moment on
   * another thread would also be planned for the CPU.
   */
  static <T> T plannedOnCpu(org.apache.spark.sql.SparkSession spark, boolean rapids, java.util.function.Supplier<T> plan) {
    return rapids ? SessionSettings.with(spark, RAPIDS_SQL_ENABLED, "false", plan) : plan.get();
  }

  private static boolean isIntOrLong(DataType t) {
    return t instanceof IntegerType || t instanceof LongType;
  }

  private static List<String> scanColumns(FileSourceScanExec scan) {
    List<String> out = new ArrayList<>();
    scala.collection.Iterator<org.apache.spark.sql.catalyst.expressions.Attribute> it = scan.output().iterator();
    while (it.hasNext()) {
      out.add(it.next().name());
    }
    return out;
  }

  /** Token rows that can tell whether a row's {@code doc_id} is the previous row's without decoding it. */
  interface SameDocId {
    /** Whether the row last returned has the same (non-null) {@code doc_id} as the one before it. */
    boolean sameDocId();
  }

  /**
   * The batches' rows, one view object per batch moved from row to row: a row is valid until the
   * next one is taken (the packer copies what it keeps), as the scan's own rows are. It also tells
   * whether a row's {@code doc_id} is the previous row's without decoding it: Parquet's dictionary
   * decode of a string makes a fresh array per row (16 % of the packing stage's samples on the 1M-token
   * job), where the batch's dictionary ids compare as ints.
   */
  static final class BatchRows implements Iterator<InternalRow>, SameDocId {
    private final Iterator<ColumnarBatch> batches;
    private ColumnarBatch batch;
    private int next;
    private int lastId = -1; // the previous row's doc_id dictionary id in this batch, -1 where none
    private boolean sameDocId;

    BatchRows(Iterator<ColumnarBatch> batches) {
      this.batches = batches;
    }

    @Override public boolean hasNext() {
      while ((batch == null || next >= batch.numRows()) && batches.hasNext()) {
        batch = batches.next();
        next = 0;
        lastId = -1; // one dictionary per batch at most (a batch stays within one row group)
      }
      return batch != null && next < batch.numRows();
    }

    @Override public InternalRow next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      int row = next++;
      org.apache.spark.sql.vectorized.ColumnVector docIds = batch.column(0);
      int id = -1;
      if (docIds instanceof org.apache.spark.sql.execution.vectorized.WritableColumnVector w && w.hasDictionary()
          && !w.isNullAt(row)) {
        id = w.getDictionaryIds().getInt(row);
      }
      sameDocId = id >= 0 && id == lastId;
      lastId = id;
      return batch.getRow(row);
    }

    @Override public boolean sameDocId() {
      return sameDocId;
    }
  }
}
