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
 * Block counts from Parquet footers: where they are taken, exactly the count job's (rows, fragments
 * and input partitions per block), and not taken where the footers cannot settle them.
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
