package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.Seeds;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.Partition;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token rows read through parquet-mr ({@link ParquetTokens}) against the rows Spark's reader gives
 * the same scan partition: the same rows in the same order, nulls where Spark has them, int or
 * long keys as the scan types them, and the "same doc id as the row before" hint right; files it
 * does not take are left to Spark's reader. Vectors that do not compress are PLAIN pages, read by
 * {@link PlainBinaryPages}; dictionary-encoded ones by parquet-mr's column readers.
 */
class ParquetTokensTest extends SparkTestBase {
  @Test
  void eachScanPartitionReadsAsSparksReaderReadsIt(@TempDir Path dir) {
    SplittableRandom rnd = Seeds.fresh("ParquetTokensTest");
    for (int variant = 0; variant < 3; variant++) {
      boolean longKeys = variant == 1;
      boolean repeated = variant == 2; // vectors of 4 values: dictionary pages, read by parquet-mr's column readers
      StructType schema = DataTypes.createStructType(List.of(
          DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, true),
          DataTypes.createStructField(TokenTable.HEAD, longKeys ? DataTypes.LongType : DataTypes.IntegerType, true),
          DataTypes.createStructField(TokenTable.POS, longKeys ? DataTypes.LongType : DataTypes.IntegerType, true),
          TokenTable.vectorField("q", VectorEncoding.BF16), TokenTable.vectorField("k", VectorEncoding.BF16),
          TokenTable.vectorField("v", VectorEncoding.BF16)));
      List<Row> rows = new ArrayList<>();
      for (int i = 0; i < 3000; i++) {
        String doc = rnd.nextInt(500) == 0 ? null : "doc-" + (i / 700) + (i % 1100 == 5 ? "-ü" : "");
        Object head = rnd.nextInt(700) == 0 ? null : longKeys ? (Object) (long) (i / 400) : (Object) (i / 400);
        Object pos = rnd.nextInt(900) == 0 ? null : longKeys ? (Object) (i * 3L - 50) : (Object) (i * 3 - 50);
        Object[] vectors = new Object[3];
        for (int c = 0; c < 3; c++) {
          byte[] v = new byte[2 * (1 + rnd.nextInt(16))];
          rnd.nextBytes(v);
          if (repeated) {
            v = new byte[] {(byte) rnd.nextInt(4), 1};
          }
          vectors[c] = rnd.nextInt(800) == 0 ? null : v;
        }
        rows.add(RowFactory.create(doc, head, pos, vectors[0], vectors[1], vectors[2]));
      }
      String path = dir.resolve("t" + variant).toString();
      spark.createDataFrame(rows, schema).coalesce(2).write().option("parquet.block.size", 8 << 10).parquet(path);
      String before = spark.conf().get("spark.sql.files.maxPartitionBytes");
      spark.conf().set("spark.sql.files.maxPartitionBytes", 24 << 10);
      try {
        Dataset<Row> table = spark.read().parquet(path);
        ColumnarScan.Tokens scan = ColumnarScan.of(table, TableRole.SELF).orElseThrow();
        assertEquals(!longKeys, scan.intHead());
        Partition[] partitions = scan.batches().partitions();
        assertTrue(repeated || partitions.length > 3, "partitions: " + partitions.length);
        // Spark's rows per partition, as text
        List<List<String>> sparks = scan.batches().toJavaRDD().mapPartitions(batches -> {
          List<String> out = new ArrayList<>();
          ColumnarScan.BatchRows r = new ColumnarScan.BatchRows(batches);
          while (r.hasNext()) {
            out.add(text(r.next(), !longKeys, false));
          }
          return List.of(out).iterator();
        }).collect();
        long seen = 0;
        long hints = 0;
        long plain = 0;
        for (int p = 0; p < partitions.length; p++) {
          ParquetTokens tokens = ParquetTokens.of((FilePartition) partitions[p], spark.sparkContext().hadoopConfiguration(),
              scan.intHead(), scan.intPos(), List.of("q", "k", "v"));
          assertNotNull(tokens, "partition " + p);
          List<String> ours = new ArrayList<>();
          String previousDoc = null;
          while (tokens.hasNext()) {
            InternalRow r = tokens.next();
            String doc = r.isNullAt(0) ? null : r.getUTF8String(0).toString();
            // the hint, where given, is right (Spark's reader gives it per batch, this one per row group)
            assertTrue(!tokens.sameDocId() || (doc != null && doc.equals(previousDoc)), "row " + ours.size());
            hints += tokens.sameDocId() ? 1 : 0;
            previousDoc = doc;
            ours.add(text(r, !longKeys, false));
          }
          assertEquals(sparks.get(p), ours, "partition " + p + (longKeys ? ", long keys" : ", int keys")
              + (repeated ? ", dictionary-encoded vectors" : ""));
          plain += tokens.plainRowGroups();
          seen += ours.size();
        }
        assertEquals(rows.size(), seen);
        // vectors that do not compress are PLAIN pages, read by the vectors' own page reader
        assertEquals(repeated, plain == 0, "row groups whose vectors PlainBinaryPages read: " + plain);
        // closed half way (a failed or cancelled read), it gives no more rows
        ParquetTokens partly = ParquetTokens.of((FilePartition) partitions[0], spark.sparkContext().hadoopConfiguration(),
            scan.intHead(), scan.intPos(), List.of("q", "k", "v"));
        partly.next();
        partly.close();
        assertTrue(!partly.hasNext());
        assertTrue(hints > seen / 2, "rows known to repeat the doc id before them: " + hints);
        // a table whose vectors are not binary, or whose scan types a key otherwise, is Spark's to read
        assertNull(ParquetTokens.of((FilePartition) partitions[0], spark.sparkContext().hadoopConfiguration(),
            longKeys, scan.intPos(), List.of("q", "k", "v")));
        assertNull(ParquetTokens.of((FilePartition) partitions[0], spark.sparkContext().hadoopConfiguration(),
            scan.intHead(), scan.intPos(), List.of("q", "k", "w")));
      } finally {
        spark.conf().set("spark.sql.files.maxPartitionBytes", before);
      }
    }
  }

  /** A token row as text: keys, vectors in hex, nulls (and a same-doc-id hint). */
  private static String text(InternalRow r, boolean intKeys, boolean sameDocId) {
    StringBuilder b = new StringBuilder();
    b.append(r.isNullAt(0) ? "null" : r.getUTF8String(0).toString()).append('|');
    for (int c = 1; c < 3; c++) {
      b.append(r.isNullAt(c) ? "null" : intKeys ? String.valueOf(r.getInt(c)) : String.valueOf(r.getLong(c))).append('|');
    }
    for (int c = 3; c < 6; c++) {
      b.append(r.isNullAt(c) ? "null" : HexFormat.of().formatHex(TokenTable.binaryView(r, c).getBytes())).append('|');
    }
    return b.append(sameDocId).toString();
  }
}
