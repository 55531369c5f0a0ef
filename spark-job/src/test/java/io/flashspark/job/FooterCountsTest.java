package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Block counts from Parquet footers and, where those cannot settle them, from the key columns read
 * on the driver: where they are taken, exactly the count job's (rows, fragments and input
 * partitions per block), and left to the job where it must name bad rows; the head dimension from
 * the files' first values as the job finds it.
 */
class FooterCountsTest extends SparkTestBase {
  private static final List<String> QKV = List.of("q", "k", "v");

  @Test
  void sortedTablesAreCountedFromTheirFootersExactlyAsByTheCountJob(@TempDir Path dir) {
    SplittableRandom rnd = new SplittableRandom(21);
    // one file per (doc, head) as the generator writes them, in small row groups (cut anywhere in a
    // block), files split into several partitions: a row group goes to the partition holding its
    // middle byte, as Spark reads it
    String path = dir.resolve("sorted").toString();
    for (DocSpec doc : List.of(DocSpec.contiguous("a", 0, 0, 3000, 8), DocSpec.contiguous("a", 1, -700, 2100, 8),
        DocSpec.contiguous("b", 0, 100_000, 900, 8), DocSpec.contiguous("c", 2, 5, 1, 8))) {
      spark.createDataFrame(rows(rnd, List.of(doc), QKV, VectorEncoding.BF16), TokenTable.schema(VectorEncoding.BF16, QKV))
          .coalesce(1).sortWithinPartitions("pos").write().mode("append").option("parquet.block.size", 16 << 10)
          .parquet(path);
    }
    String before = spark.conf().get("spark.sql.files.maxPartitionBytes");
    spark.conf().set("spark.sql.files.maxPartitionBytes", 64 << 10);
    try {
      Dataset<Row> table = spark.read().parquet(path);
      ColumnarScan.Tokens scan = ColumnarScan.of(table, TableRole.SELF).orElseThrow();
      assertTrue(scan.batches().getNumPartitions() > 4, "partitions: " + scan.batches().getNumPartitions());
      for (int blockSize : new int[] {1, 7, 64, 1000, 1 << 20}) {
        Optional<BlockStats.Counts> footers = FooterCounts.of(scan, blockSize, hadoop());
        assertTrue(footers.isPresent(), "block size " + blockSize);
        assertEquals(described(job(table, blockSize)), described(footers.get()), "block size " + blockSize);
      }
    } finally {
      spark.conf().set("spark.sql.files.maxPartitionBytes", before);
    }
  }

  @Test
  void gapsAcrossABlockBoundaryMixedHeadsAndNullKeysLeaveTheCountToTheJob(@TempDir Path dir) {
    SplittableRandom rnd = new SplittableRandom(22);
    long[] sparse = new long[300];
    for (int i = 0; i < sparse.length; i++) {
      sparse[i] = 3L * i; // positions 0..897, every third
    }
    List<Row> sparseRows = rows(rnd, List.of(new DocSpec("s", 0, sparse, 8)), QKV, VectorEncoding.FP16);
    String sparsePath = write(dir, "sparse", sparseRows, QKV, VectorEncoding.FP16, 1);
    Dataset<Row> sparseTable = spark.read().parquet(sparsePath);
    ColumnarScan.Tokens sparseScan = ColumnarScan.of(sparseTable, TableRole.SELF).orElseThrow();
    assertFalse(FooterCounts.of(sparseScan, 16, hadoop()).isPresent(), "gaps across block boundaries");
    // within one block a row group's rows all count to it, gaps or not
    assertEquals(described(job(sparseTable, 1000)), described(FooterCounts.of(sparseScan, 1000, hadoop()).orElseThrow()));

    // a sorted table whose row groups run from one (doc, head) into the next
    String straddling = dir.resolve("straddling").toString();
    spark.createDataFrame(rows(rnd, List.of(DocSpec.contiguous("t", 0, 0, 300, 8), DocSpec.contiguous("t", 1, 0, 300, 8)),
        QKV, VectorEncoding.FP16), TokenTable.schema(VectorEncoding.FP16, QKV)).orderBy("doc_id", "head", "pos").coalesce(1)
        .write().parquet(straddling);
    assertFalse(FooterCounts.of(ColumnarScan.of(spark.read().parquet(straddling), TableRole.SELF).orElseThrow(), 64,
        hadoop()).isPresent(), "a row group holding two heads");

    // several heads in one row group (rows in no order)
    List<Row> mixed = rows(rnd, List.of(DocSpec.contiguous("m", 0, 0, 200, 8), DocSpec.contiguous("m", 1, 0, 200, 8)), QKV,
        VectorEncoding.FP16);
    java.util.Collections.shuffle(mixed, new java.util.Random(5));
    String mixedPath = dir.resolve("mixed").toString();
    spark.createDataFrame(mixed, TokenTable.schema(VectorEncoding.FP16, QKV)).coalesce(1).write().parquet(mixedPath);
    assertFalse(FooterCounts.of(ColumnarScan.of(spark.read().parquet(mixedPath), TableRole.SELF).orElseThrow(), 64,
        hadoop()).isPresent(), "two heads in a row group");

    // a null head: the count job names it
    List<Row> withNull = new ArrayList<>(rows(rnd, List.of(DocSpec.contiguous("n", 0, 0, 50, 8)), QKV, VectorEncoding.FP16));
    byte[] ok = VectorEncoding.FP16.encode(new float[8]);
    withNull.add(RowFactory.create("n", null, 60L, ok, ok, ok));
    StructType nullable = DataTypes.createStructType(Arrays.stream(TokenTable.schema(VectorEncoding.FP16, QKV).fields())
        .map(f -> new StructField(f.name(), f.dataType(), true, f.metadata())).toArray(StructField[]::new));
    String nullPath = dir.resolve("nulls").toString();
    spark.createDataFrame(withNull, nullable).coalesce(1).write().parquet(nullPath);
    assertFalse(FooterCounts.of(ColumnarScan.of(spark.read().parquet(nullPath), TableRole.SELF).orElseThrow(), 64,
        hadoop()).isPresent(), "a null head");

    // and never when turned off
    String contiguous = write(dir, "contiguous", rows(rnd, List.of(DocSpec.contiguous("c", 0, 0, 100, 8)), QKV,
        VectorEncoding.FP16), QKV, VectorEncoding.FP16, 1);
    ColumnarScan.Tokens scan = ColumnarScan.of(spark.read().parquet(contiguous), TableRole.SELF).orElseThrow();
    assertTrue(FooterCounts.of(scan, 64, hadoop()).isPresent());
    System.setProperty("flashspark.footerCounts", "false");
    try {
      assertFalse(FooterCounts.of(scan, 64, hadoop()).isPresent());
    } finally {
      System.clearProperty("flashspark.footerCounts");
    }
  }

  @Test
  void tablesTheFootersCannotSettleAreCountedFromTheirKeyColumnsExactlyAsByTheCountJob(@TempDir Path dir)
      throws Exception {
    SplittableRandom rnd = new SplittableRandom(24);
    long[] sparse = new long[400];
    for (int i = 0; i < sparse.length; i++) {
      sparse[i] = 5L * i - 900; // negative positions too, gaps across blocks
    }
    List<DocSpec> docs = List.of(DocSpec.contiguous("a", 0, 0, 1500, 8), DocSpec.contiguous("a", 1, 0, 1500, 8),
        DocSpec.contiguous("b", 0, 70_000, 700, 8), new DocSpec("s", 3, sparse, 8));
    // rows in no order, several documents and heads in every row group, files split into partitions
    String path = write(dir, "shuffled", rows(rnd, docs, QKV, VectorEncoding.BF16), QKV, VectorEncoding.BF16, 3);
    // long heads and int positions, sorted, several (doc, head)s in a row group
    StructType longHeads = DataTypes.createStructType(List.of(
        DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, false),
        DataTypes.createStructField(TokenTable.HEAD, DataTypes.LongType, false),
        DataTypes.createStructField(TokenTable.POS, DataTypes.IntegerType, false),
        TokenTable.vectorField("q", VectorEncoding.BF16), TokenTable.vectorField("k", VectorEncoding.BF16),
        TokenTable.vectorField("v", VectorEncoding.BF16)));
    List<Row> sortedRows = new ArrayList<>();
    for (Row r : rows(rnd, List.of(DocSpec.contiguous("x", 0, 0, 900, 8), DocSpec.contiguous("x", 1, 0, 900, 8)), QKV,
        VectorEncoding.BF16)) {
      sortedRows.add(RowFactory.create(r.getInt(1) == 0 ? "x" : "y", (long) r.getInt(1), (int) r.getLong(2),
          r.get(3), r.get(4), r.get(5)));
    }
    String sortedPath = dir.resolve("sorted").toString();
    spark.createDataFrame(sortedRows, longHeads).coalesce(1).sortWithinPartitions("doc_id", "head", "pos").write()
        .option("parquet.block.size", 16 << 10).parquet(sortedPath);
    String before = spark.conf().get("spark.sql.files.maxPartitionBytes");
    spark.conf().set("spark.sql.files.maxPartitionBytes", 48 << 10);
    JobCounter jobs = new JobCounter();
    try {
      for (String table : List.of(path, sortedPath)) {
        Dataset<Row> t = spark.read().parquet(table);
        ColumnarScan.Tokens scan = ColumnarScan.of(t, TableRole.SELF).orElseThrow();
        assertTrue(scan.batches().getNumPartitions() > 2, "partitions: " + scan.batches().getNumPartitions());
        for (int blockSize : new int[] {1, 7, 64, 1000, 1 << 20}) {
          assertFalse(FooterCounts.of(scan, blockSize, hadoop()).isPresent(), "footers settle " + table);
          spark.sparkContext().addSparkListener(jobs);
          Optional<BlockStats.Counts> keys = KeyColumnCounts.of(scan, blockSize, hadoop());
          spark.sparkContext().listenerBus().waitUntilEmpty();
          spark.sparkContext().removeSparkListener(jobs);
          assertTrue(keys.isPresent(), table + " block size " + blockSize);
          assertEquals(described(job(t, blockSize)), described(keys.get()), table + " block size " + blockSize);
        }
      }
    } finally {
      spark.conf().set("spark.sql.files.maxPartitionBytes", before);
    }
    assertEquals(0, jobs.started.get(), "Spark jobs started while the driver read the keys");

    // what the job reports is left to it: a null head, a head outside int32; and nothing when turned off
    StructType nullable = DataTypes.createStructType(Arrays.stream(longHeads.fields())
        .map(f -> new StructField(f.name(), f.dataType(), true, f.metadata())).toArray(StructField[]::new));
    byte[] x = VectorEncoding.BF16.encode(new float[8]);
    for (Row bad : List.of(RowFactory.create("z", null, 2, x, x, x), RowFactory.create("z", 1L << 40, 2, x, x, x))) {
      String badPath = dir.resolve("bad-" + (bad.isNullAt(1) ? "null" : "range")).toString();
      spark.createDataFrame(List.of(RowFactory.create("z", 0L, 1, x, x, x), bad), nullable).coalesce(1).write()
          .parquet(badPath);
      assertFalse(KeyColumnCounts.of(ColumnarScan.of(spark.read().parquet(badPath), TableRole.SELF).orElseThrow(), 64,
          hadoop()).isPresent(), badPath);
    }
    ColumnarScan.Tokens scan = ColumnarScan.of(spark.read().parquet(path), TableRole.SELF).orElseThrow();
    System.setProperty("flashspark.footerCounts", "false");
    try {
      assertFalse(KeyColumnCounts.of(scan, 64, hadoop()).isPresent());
    } finally {
      System.clearProperty("flashspark.footerCounts");
    }
    // more key bytes than the driver may read: the job counts
    System.setProperty("flashspark.keyCounts.maxBytes", "1000");
    try {
      assertFalse(KeyColumnCounts.of(scan, 64, hadoop()).isPresent());
    } finally {
      System.clearProperty("flashspark.keyCounts.maxBytes");
    }
    assertTrue(KeyColumnCounts.of(scan, 64, hadoop()).isPresent());
  }

  @Test
  void headDimensionsAreReadFromTheFilesWithoutAJobAsTheJobReadsThem(@TempDir Path dir) throws Exception {
    SplittableRandom rnd = new SplittableRandom(23);
    StructType nullable = DataTypes.createStructType(Arrays.stream(TokenTable.schema(VectorEncoding.FP16, QKV).fields())
        .map(f -> new StructField(f.name(), f.dataType(), true, f.metadata())).toArray(StructField[]::new));
    // q null in the first 700 rows (across small row groups and pages): the first non-null value is further on
    List<Row> rows = new ArrayList<>(rows(rnd, List.of(DocSpec.contiguous("d", 0, 0, 1000, 24)), QKV, VectorEncoding.FP16));
    for (int i = 0; i < 700; i++) {
      Row r = rows.get(i);
      rows.set(i, RowFactory.create(r.get(0), r.get(1), r.get(2), null, r.get(4), r.get(5)));
    }
    String path = dir.resolve("leading-nulls").toString();
    spark.createDataFrame(rows, nullable).coalesce(1).write().option("parquet.block.size", 8 << 10)
        .option("parquet.page.size", 1 << 10).parquet(path);
    Dataset<Row> table = spark.read().parquet(path);
    Optional<ColumnarScan.Tokens> scan = ColumnarScan.of(table, TableRole.SELF);
    assertTrue(scan.isPresent());
    assertEquals(48, FirstPackedValue.length(scan.get(), "q", hadoop()).orElseThrow(), "bytes of 24 fp16 values");
    TokenTable.Columns cols = TokenTable.columns(table, "t", TableRole.SELF, null);
    JobCounter jobs = new JobCounter();
    spark.sparkContext().addSparkListener(jobs);
    try {
      assertEquals(24, TokenTable.headDimension(cols, "t", scan, hadoop()));
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertEquals(0, jobs.started.get(), "Spark jobs started for the head dimension");
      assertEquals(24, TokenTable.headDimension(cols, "t"), "the job's answer");
    } finally {
      spark.sparkContext().removeSparkListener(jobs);
    }
    // a value that is no whole number of values is the same bad input either way
    String odd = write(dir, "odd", List.of(RowFactory.create("x", 0, 0L, new byte[6], new byte[6], new byte[6])), QKV,
        VectorEncoding.FP32, 1);
    Dataset<Row> oddTable = spark.read().parquet(odd);
    TokenTable.Columns oddCols = TokenTable.columns(oddTable, "t", TableRole.SELF, null);
    InputException fromFiles = org.junit.jupiter.api.Assertions.assertThrows(InputException.class,
        () -> TokenTable.headDimension(oddCols, "t", ColumnarScan.of(oddTable, TableRole.SELF), hadoop()));
    InputException fromJob = org.junit.jupiter.api.Assertions.assertThrows(InputException.class,
        () -> TokenTable.headDimension(oddCols, "t"));
    assertEquals(fromJob.getMessage(), fromFiles.getMessage());
    // no non-null value, or a column the files do not hold as binary: the job answers
    List<Row> allNull = List.of(RowFactory.create("n", 0, 0L, null, null, null));
    String nullPath = dir.resolve("all-null").toString();
    spark.createDataFrame(allNull, nullable).coalesce(1).write().parquet(nullPath);
    Dataset<Row> nullTable = spark.read().parquet(nullPath);
    assertFalse(FirstPackedValue.length(ColumnarScan.of(nullTable, TableRole.SELF).orElseThrow(), "q", hadoop()).isPresent());
    assertEquals(-1, TokenTable.headDimension(TokenTable.columns(nullTable, "t", TableRole.SELF, null), "t",
        ColumnarScan.of(nullTable, TableRole.SELF), hadoop()));
    assertFalse(FirstPackedValue.length(scan.get(), "doc_id_missing", hadoop()).isPresent());
  }

  /** Counts the Spark jobs started while it listens. */
  @Test
  void tablesAreOpenedWithTheSchemaSparksInferenceGivesWithoutAJob(@TempDir Path dir) throws Exception {
    SplittableRandom rnd = new SplittableRandom(25);
    String path = dir.resolve("t").toString();
    for (DocSpec doc : List.of(DocSpec.contiguous("a", 0, 0, 300, 8), DocSpec.contiguous("b", 3, 7, 200, 8))) {
      spark.createDataFrame(rows(rnd, List.of(doc), QKV, VectorEncoding.BF16), TokenTable.schema(VectorEncoding.BF16, QKV))
          .coalesce(1).write().mode("append").parquet(path);
    }
    // the same rows partitioned by head (head comes from the directories' names, after the files' columns)
    String byHead = dir.resolve("by-head").toString();
    spark.read().parquet(path).write().partitionBy(TokenTable.HEAD).parquet(byHead);
    for (String table : List.of(path, byHead, byHead + "/head=3")) {
      JobCounter jobs = new JobCounter();
      spark.sparkContext().addSparkListener(jobs);
      Dataset<Row> opened;
      try {
        opened = TokenTable.open(spark, table, "input");
        spark.sparkContext().listenerBus().waitUntilEmpty();
      } finally {
        spark.sparkContext().removeSparkListener(jobs);
      }
      assertEquals(0, jobs.started.get(), "Spark jobs started to open " + table);
      Dataset<Row> inferred = spark.read().parquet(table);
      assertEquals(inferred.schema(), opened.schema(), table + ": names, types, nullability and the vectors' metadata");
      assertEquals(VectorEncoding.BF16.label(), opened.schema().apply("q").metadata().getString(TokenTable.ENCODING_KEY));
      assertEquals(inferred.count(), opened.count(), table);
      assertTrue(inferred.exceptAll(opened).isEmpty() && opened.exceptAll(inferred).isEmpty(), table + ": the same rows");
    }
    // asked to merge schemas, Spark infers it (a job of its own), as before
    spark.conf().set("spark.sql.parquet.mergeSchema", "true");
    JobCounter jobs = new JobCounter();
    spark.sparkContext().addSparkListener(jobs);
    try {
      TokenTable.open(spark, path, "input");
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } finally {
      spark.sparkContext().removeSparkListener(jobs);
      spark.conf().unset("spark.sql.parquet.mergeSchema");
    }
    assertTrue(jobs.started.get() > 0, "schema merging infers the schema with a job");
  }

  private static final class JobCounter extends org.apache.spark.scheduler.SparkListener {
    final java.util.concurrent.atomic.AtomicInteger started = new java.util.concurrent.atomic.AtomicInteger();

    @Override public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart jobStart) {
      started.incrementAndGet();
    }
  }

  private static org.apache.hadoop.conf.Configuration hadoop() {
    return spark.sparkContext().hadoopConfiguration();
  }

  private static BlockStats.Counts job(Dataset<Row> table, int blockSize) {
    return BlockStats.count(TokenTable.columns(table, "t", TableRole.SELF, null), blockSize, "t");
  }

  /** Counts as text in block order (arrays compared by content). */
  private static String described(BlockStats.Counts counts) {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<BlockKey, BlockStats.Count> e : counts.blocks().entrySet()) {
      BlockStats.Count c = e.getValue();
      out.put(e.getKey().toString(), c.rows() + " rows, " + c.fragments() + " fragments, partitions "
          + Arrays.toString(c.partitions()));
    }
    return out.toString();
  }
}
