package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How vector tables are laid out in Parquet: two-level lists of non-null floats, no dictionary for vectors. */
class TokenTableWriteTest extends SparkTestBase {
  @Test
  void floatArraysGoInTheTwoLevelLayoutWithoutDictionaryOrStatisticsAndReadBackTheSame(@TempDir Path dir) throws Exception {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("pos", DataTypes.LongType, false),
        DataTypes.createStructField("o", DataTypes.createArrayType(DataTypes.FloatType, false), true),
        DataTypes.createStructField("lse", DataTypes.DoubleType, false)));
    List<Row> rows = new ArrayList<>();
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
    for (long p = 0; p < 3000; p++) {
      List<Float> o = new ArrayList<>();
      for (int c = 0; c < 8; c++) {
        o.add((float) rnd.nextGaussian());
      }
      rows.add(RowFactory.create(p, p % 97 == 0 ? null : o, rnd.nextDouble()));
    }
    Dataset<Row> table = spark.createDataFrame(rows, schema).coalesce(1);
    String out = dir.resolve("t").toString();
    String key = "spark.sql.parquet.writeLegacyFormat";
    scala.Option<String> before = spark.conf().getOption(key);
    TokenTable.writeParquet(table, out, null);
    assertEquals(before, spark.conf().getOption(key), "the session's setting is put back after the write");

    File part = java.util.Arrays.stream(new File(out).listFiles()).filter(f -> f.getName().endsWith(".parquet"))
        .findFirst().orElseThrow();
    try (ParquetFileReader reader = ParquetFileReader.open(
        HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(part.getPath()), new Configuration()))) {
      ParquetMetadata meta = reader.getFooter();
      String o = meta.getFileMetaData().getSchema().getType("o").toString();
      assertTrue(o.contains("repeated float array"), "two-level list: " + o);
      for (ColumnChunkMetaData c : meta.getBlocks().get(0).getColumns()) {
        String path = c.getPath().toDotString();
        boolean dictionary = c.getEncodings().contains(Encoding.PLAIN_DICTIONARY)
            || c.getEncodings().contains(Encoding.RLE_DICTIONARY);
        if (path.startsWith("o.") || path.equals("lse")) {
          assertFalse(dictionary, path + " " + c.getEncodings());
        }
        // no min/max over a vector's elements; the other columns keep theirs
        assertEquals(!path.startsWith("o."), c.getStatistics().hasNonNullValue(), path + " " + c.getStatistics());
      }
    }
    List<Row> back = spark.read().parquet(out).orderBy("pos").collectAsList();
    assertEquals(rows.size(), back.size());
    for (int i = 0; i < rows.size(); i++) {
      assertEquals(rows.get(i).get(1), back.get(i).isNullAt(1) ? null : new ArrayList<>(back.get(i).getList(1)),
          "row " + i);
      assertEquals(rows.get(i).getDouble(2), back.get(i).getDouble(2));
    }
  }
}
