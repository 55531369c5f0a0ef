package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.Seeds;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.internal.column.columnindex.ColumnIndex;
import org.apache.parquet.internal.column.columnindex.OffsetIndex;
import org.apache.parquet.io.api.Binary;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page-at-a-time Parquet writer against Spark's own: the same rows read back bit for bit (through
 * Spark's reader), in several row groups and many pages, and the footer it promises (two-level
 * list, no statistics or page index over vector elements, statistics on the other columns, Spark's
 * schema with the vector columns' metadata).
 */
class VectorParquetFormatTest extends SparkTestBase {
  private static final StructType SCHEMA = DataTypes.createStructType(List.of(
      DataTypes.createStructField("doc_id", DataTypes.StringType, false),
      DataTypes.createStructField("head", DataTypes.IntegerType, false),
      DataTypes.createStructField("pos", DataTypes.LongType, false),
      DataTypes.createStructField("o", DataTypes.createArrayType(DataTypes.FloatType, false), false),
      DataTypes.createStructField("packed", DataTypes.BinaryType, false,
          TokenTable.vectorField("packed", VectorEncoding.BF16).metadata()),
      DataTypes.createStructField("w", DataTypes.FloatType, false),
      DataTypes.createStructField("lse", DataTypes.DoubleType, false)));

  /** Rows with random-looking vectors, or with vectors that compress well ({@code compressible}). */
  private static List<Row> rows(SplittableRandom rnd, int n, boolean compressible) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      // a row of one element has no second repetition run; random vectors long enough that their
      // lengths and levels do not make a page compress
      int d = rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(3) : compressible ? 1 + rnd.nextInt(9) : 24 + rnd.nextInt(40);
      List<Float> o = new ArrayList<>();
      for (int c = 0; c < d; c++) {
        o.add(compressible ? (float) (c % 3) : rnd.nextInt(50) == 0 ? -0f : (float) rnd.nextGaussian() * 100);
      }
      byte[] packed = new byte[2 * (compressible ? 1 + rnd.nextInt(4) : 16 + rnd.nextInt(48))];
      if (!compressible) {
        rnd.nextBytes(packed);
      }
      // runs of one doc id (as in the job's output), broken by others, so statistics see both
      rows.add(RowFactory.create("doc-" + (i / 300 % 3) + (i % 7 == 0 ? "-ä" : ""), i % 5, (long) i * 3 - 100, o, packed,
          (float) rnd.nextGaussian(), rnd.nextInt(20) == 0 ? Double.NEGATIVE_INFINITY : rnd.nextGaussian()));
    }
    return rows;
  }

  @Test
  void writesWhatSparksWriterWritesInPagesAndRowGroups(@TempDir Path dir) throws Exception {
    SplittableRandom rnd = Seeds.fresh("VectorParquetFormatTest");
    assertTrue(VectorParquetFormat.supports(SCHEMA));
    for (String run : List.of("snappy", "snappy compressible", "uncompressed", "none")) {
      String codec = run.split(" ")[0];
      boolean compressible = run.endsWith("compressible");
      List<Row> rows = rows(rnd, 5000, compressible);
      Dataset<Row> table = spark.createDataFrame(rows, SCHEMA).repartition(3);
      String ours = dir.resolve("ours-" + run.replace(' ', '-')).toString();
      table.write().format(VectorParquetFormat.class.getName()).option("compression", codec)
          .option("parquet.page.size", "4096").option("parquet.block.size", "16384").save(ours);
      String sparks = dir.resolve("spark-" + run.replace(' ', '-')).toString();
      table.write().option("compression", codec).parquet(sparks);
      List<Row> a = spark.read().parquet(ours).orderBy("pos").collectAsList();
      List<Row> b = spark.read().parquet(sparks).orderBy("pos").collectAsList();
      assertEquals(rows.size(), a.size());
      for (int i = 0; i < rows.size(); i++) {
        Row x = a.get(i);
        Row y = b.get(i);
        assertEquals(y.getString(0), x.getString(0), "row " + i);
        assertEquals(y.getInt(1), x.getInt(1));
        assertEquals(y.getLong(2), x.getLong(2));
        List<Float> ox = x.getList(3);
        List<Float> oy = y.getList(3);
        assertEquals(oy.size(), ox.size(), "row " + i);
        for (int c = 0; c < oy.size(); c++) {
          assertEquals(Float.floatToRawIntBits(oy.get(c)), Float.floatToRawIntBits(ox.get(c)), "row " + i + " element " + c);
        }
        assertArrayEquals((byte[]) y.get(4), (byte[]) x.get(4));
        assertEquals(Float.floatToRawIntBits(y.getFloat(5)), Float.floatToRawIntBits(x.getFloat(5)));
        assertEquals(Double.doubleToRawLongBits(y.getDouble(6)), Double.doubleToRawLongBits(x.getDouble(6)));
      }
      assertEquals(VectorEncoding.BF16.label(),
          spark.read().parquet(ours).schema().apply("packed").metadata().getString(TokenTable.ENCODING_KEY),
          "the vector column's encoding survives in Spark's schema");
      checkFooters(ours, codec, compressible);
    }
  }

  /**
   * The footers: {@code codec} on every scalar chunk, and on vector chunks where they compress
   * ({@code compressible}); else vector chunks are stored uncompressed.
   */
  private static void checkFooters(String table, String codec, boolean compressible) throws Exception {
    int rowGroups = 0;
    long rowsSeen = 0;
    for (File part : new File(table).listFiles((d, n) -> n.endsWith(".parquet"))) {
      // the file's doc ids in file order (one small file: one partition, read in order)
      List<UTF8String> docIds = spark.read().parquet(part.getPath()).select("doc_id").collectAsList().stream()
          .map(r -> UTF8String.fromString(r.getString(0))).toList();
      long blockStart = 0;
      try (ParquetFileReader reader = ParquetFileReader.open(
          HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(part.getPath()), new Configuration()))) {
        String o = reader.getFooter().getFileMetaData().getSchema().getType("o").toString();
        assertTrue(o.contains("required group o (LIST)") && o.contains("repeated float array"), o);
        for (BlockMetaData block : reader.getFooter().getBlocks()) {
          rowGroups++;
          rowsSeen += block.getRowCount();
          for (ColumnChunkMetaData c : block.getColumns()) {
            String path = c.getPath().toDotString();
            boolean vector = path.startsWith("o.") || path.equals("packed");
            assertEquals(codec.equals("none") || (vector && !compressible) ? "UNCOMPRESSED" : codec.toUpperCase(),
                c.getCodec().name(), path);
            if (path.equals("doc_id")) {
              checkStringStatistics(reader, c, docIds, (int) blockStart, (int) block.getRowCount());
            }
            assertEquals(!vector, c.getStatistics().hasNonNullValue(), path + " " + c.getStatistics());
            if (vector) {
              assertNull(reader.readColumnIndex(c), "no page index over " + path);
            } else {
              assertFalse(reader.readColumnIndex(c) == null, "a page index for " + path);
            }
          }
          blockStart += block.getRowCount();
        }
      }
    }
    assertEquals(5000, rowsSeen);
    assertTrue(rowGroups > 3, "several row groups per file: " + rowGroups);
  }

  /** A string chunk's min/max, and each page's in the column index, are those of the rows they cover. */
  private static void checkStringStatistics(ParquetFileReader reader, ColumnChunkMetaData c, List<UTF8String> docIds,
      int blockStart, int blockRows) throws Exception {
    List<UTF8String> chunk = docIds.subList(blockStart, blockStart + blockRows);
    assertEquals(Collections.min(chunk).toString(), ((Binary) c.getStatistics().genericGetMin()).toStringUsingUTF8());
    assertEquals(Collections.max(chunk).toString(), ((Binary) c.getStatistics().genericGetMax()).toStringUsingUTF8());
    ColumnIndex pagesMinMax = reader.readColumnIndex(c);
    OffsetIndex pages = reader.readOffsetIndex(c);
    for (int p = 0; p < pages.getPageCount(); p++) {
      int from = (int) pages.getFirstRowIndex(p);
      int to = p + 1 < pages.getPageCount() ? (int) pages.getFirstRowIndex(p + 1) : blockRows;
      List<UTF8String> page = chunk.subList(from, to);
      assertEquals(Collections.min(page), UTF8String.fromBytes(bytes(pagesMinMax.getMinValues().get(p))), "page " + p);
      assertEquals(Collections.max(page), UTF8String.fromBytes(bytes(pagesMinMax.getMaxValues().get(p))), "page " + p);
    }
  }

  private static byte[] bytes(java.nio.ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  @Test
  void onlyTablesOfNonNullScalarsAndFloatArraysQualify() {
    assertFalse(VectorParquetFormat.supports(SCHEMA.add("maybe", DataTypes.LongType, true)));
    assertFalse(VectorParquetFormat.supports(DataTypes.createStructType(List.of(DataTypes.createStructField("o",
        DataTypes.createArrayType(DataTypes.FloatType, true), false)))));
    assertFalse(VectorParquetFormat.supports(DataTypes.createStructType(List.of(DataTypes.createStructField("o",
        DataTypes.createArrayType(DataTypes.DoubleType, false), false)))));
    for (VectorEncoding format : List.of(VectorEncoding.ARRAY, VectorEncoding.FP32, VectorEncoding.BF16)) {
      assertTrue(VectorParquetFormat.supports(OutputTable.schema(format)), "score output as " + format);
    }
  }
}
