package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flashspark.attention.Seeds;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.column.values.rle.RunLengthBitPackingHybridEncoder;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vectors' own page reader ({@link PlainBinaryPages}, through {@link ParquetTokens}) on token
 * tables written page by page here: data pages v1 and v2, uncompressed and SNAPPY, optional and
 * required vector columns, nulls, empty values and values larger than a page's lookahead, pages of
 * a few rows to several megabytes, row groups of different sizes. Each table is read with the page
 * reader and with parquet-mr's column readers: both must give exactly the rows written. Chunks the
 * page reader does not take (GZIP, dictionary pages) go to parquet-mr, and a chunk cut short fails
 * with the column's name.
 */
class PlainBinaryPagesTest extends SparkTestBase {
  private static final MessageType SCHEMA = MessageTypeParser.parseMessageType("message tokens {"
      + " required binary doc_id (STRING); required int32 head; required int64 pos;"
      + " optional binary q; required binary k; optional binary v; }");

  /** One token as written: keys and three vectors (q and v may be null). */
  private record Token(String doc, int head, long pos, byte[][] vectors) {
    String text() {
      StringBuilder b = new StringBuilder(doc).append('|').append(head).append('|').append(pos);
      for (byte[] v : vectors) {
        b.append('|').append(v == null ? "null" : HexFormat.of().formatHex(v));
      }
      return b.toString();
    }
  }

  @Test
  void pagesV1AndV2UncompressedAndSnappyReadAsWritten(@TempDir Path dir) throws IOException {
    SplittableRandom rnd = Seeds.fresh("PlainBinaryPagesTest");
    for (boolean v2 : new boolean[] {false, true}) {
      for (CompressionCodecName codec : new CompressionCodecName[] {CompressionCodecName.UNCOMPRESSED,
          CompressionCodecName.SNAPPY, CompressionCodecName.GZIP}) {
        List<Token> tokens = tokens(rnd, 1500);
        Path table = dir.resolve((v2 ? "v2-" : "v1-") + codec);
        write(table.resolve("part-0.parquet"), tokens, new int[] {700, 1, 799}, 1 + rnd.nextInt(60), v2, codec);
        List<String> expected = tokens.stream().map(Token::text).toList();
        String what = (v2 ? "pages v2, " : "pages v1, ") + codec;
        boolean taken = codec != CompressionCodecName.GZIP;
        assertEquals(expected, read(table, true, taken ? 3 : 0), what + ", page reader");
        assertEquals(expected, read(table, false, 0), what + ", parquet-mr's column readers");
      }
    }
  }

  @Test
  void aChunkCutShortFailsNamingItsColumn(@TempDir Path dir) throws IOException {
    // the footer says the chunk holds more values than its pages do: the page reader runs out of pages
    Path bad = dir.resolve("bad");
    java.nio.file.Files.createDirectories(bad);
    writeShort(bad.resolve("part-0.parquet"));
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> read(bad, true, 1));
    assertTrue(e.getMessage().contains("column q"), e.getMessage());
  }

  /**
   * The job over a table of bf16 tokens written as data pages v2 with SNAPPY (as pyarrow can write
   * them; Spark's own writer never makes PLAIN v2 pages): the cells read it with the page reader and
   * the output passes the float64 check, equal (within fp32 rounding) to parquet-mr's column readers'.
   */
  @Test
  void aJobOverPagesV2SnappyPassesTheReferenceCheck(@TempDir Path dir) throws IOException {
    List<Token> tokens = new ArrayList<>();
    for (org.apache.spark.sql.Row r : SyntheticTokens.generate(spark, 1, 2048, 2, 32, 11, VectorEncoding.BF16)
        .orderBy("doc_id", "head", "pos").collectAsList()) {
      tokens.add(new Token(r.getString(0), r.getInt(1), r.getLong(2),
          new byte[][] {(byte[]) r.get(3), (byte[]) r.get(4), (byte[]) r.get(5)}));
    }
    Path table = dir.resolve("v2-snappy");
    write(table.resolve("part-0.parquet"), tokens, new int[] {2048, 2048}, 100, true, CompressionCodecName.SNAPPY);
    for (boolean plainPages : new boolean[] {true, false}) {
      String out = dir.resolve("out-" + plainPages).toString();
      System.setProperty("flashspark.plainPages", String.valueOf(plainPages));
      try {
        Outcome score = cli("score", "--input", table.toString(), "--output", out, "--causal", "--backend", "cpu",
            "--packed", "bf16", "--precision", "bf16");
        assertEquals(0, score.code(), score.out() + score.err());
        assertTrue((score.err() + score.out()).contains("input partitions themselves"), "the cells read their input: "
            + score.err() + score.out());
      } finally {
        System.clearProperty("flashspark.plainPages");
      }
      Outcome check = cli("check", "--input", table.toString(), "--output", out, "--causal", "--packed", "bf16",
          "--precision", "bf16", "--rows", "40");
      assertEquals(0, check.code(), check.out() + check.err());
      assertTrue(check.out().contains("OK"), check.out());
    }
    assertSameOutput(dir.resolve("out-true").toString(), dir.resolve("out-false").toString(), 2 * 2048);
  }

  /** Tokens with vectors of 0 to 64 bytes, now and then 20 KB (past a page's lookahead) or 3 MB. */
  private static List<Token> tokens(SplittableRandom rnd, int count) {
    List<Token> tokens = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[][] vectors = new byte[3][];
      for (int c = 0; c < 3; c++) {
        int roll = rnd.nextInt(1000);
        int length = roll < 5 ? 0 : roll < 25 ? 20_000 : roll == 999 ? 3 << 20 : 2 * rnd.nextInt(33);
        vectors[c] = new byte[length];
        rnd.nextBytes(vectors[c]);
        if (c != 1 && rnd.nextInt(20) == 0) {
          vectors[c] = null; // q and v are optional, k is required
        }
      }
      tokens.add(new Token("doc-" + (i / 500), i / 1000, i * 2L, vectors));
    }
    return tokens;
  }

  /** The table's rows through ParquetTokens, checking how many row groups the page reader took. */
  private static List<String> read(Path table, boolean plainPages, int plainRowGroups) {
    String before = System.getProperty("flashspark.plainPages");
    System.setProperty("flashspark.plainPages", String.valueOf(plainPages));
    try {
      ColumnarScan.Tokens scan = ColumnarScan.of(spark.read().parquet(table.toString()), TableRole.SELF).orElseThrow();
      List<String> rows = new ArrayList<>();
      int plain = 0;
      for (org.apache.spark.Partition p : scan.batches().partitions()) {
        try (ParquetTokens tokens = ParquetTokens.of((FilePartition) p, spark.sparkContext().hadoopConfiguration(),
            scan.intHead(), scan.intPos(), List.of("q", "k", "v"))) {
          assertNotNull(tokens);
          while (tokens.hasNext()) {
            InternalRow r = tokens.next();
            StringBuilder b = new StringBuilder(r.getUTF8String(0).toString()).append('|').append(r.getInt(1))
                .append('|').append(r.getLong(2));
            for (int c = 3; c < 6; c++) {
              b.append('|').append(r.isNullAt(c) ? "null" : HexFormat.of().formatHex(TokenTable.binaryView(r, c).getBytes()));
            }
            rows.add(b.toString());
          }
          plain += tokens.plainRowGroups();
        }
      }
      assertEquals(plainRowGroups, plain, "row groups whose vectors the page reader read");
      return rows;
    } finally {
      if (before == null) {
        System.clearProperty("flashspark.plainPages");
      } else {
        System.setProperty("flashspark.plainPages", before);
      }
    }
  }

  /** Writes the tokens as row groups of the given sizes, each column in pages of {@code pageRows} rows. */
  private static void write(Path file, List<Token> tokens, int[] rowGroups, int pageRows, boolean v2,
      CompressionCodecName codec) throws IOException {
    ParquetFileWriter w = new ParquetFileWriter(new Configuration(), SCHEMA, new org.apache.hadoop.fs.Path(file.toUri()));
    w.start();
    int from = 0;
    for (int size : rowGroups) {
      List<Token> group = tokens.subList(from, from + size);
      from += size;
      w.startBlock(size);
      for (ColumnDescriptor column : SCHEMA.getColumns()) {
        w.startColumn(column, size, codec);
        for (int p = 0; p < size; p += pageRows) {
          writePage(w, column, group.subList(p, Math.min(size, p + pageRows)), v2, codec);
        }
        w.endColumn();
      }
      w.endBlock();
    }
    w.end(Map.of());
  }

  private static void writePage(ParquetFileWriter w, ColumnDescriptor column, List<Token> rows, boolean v2,
      CompressionCodecName codec) throws IOException {
    String name = column.getPath()[0];
    boolean optional = column.getMaxDefinitionLevel() > 0;
    Statistics<?> stats = Statistics.createStats(column.getPrimitiveType());
    ByteArrayOutputStream values = new ByteArrayOutputStream();
    RunLengthBitPackingHybridEncoder levels = new RunLengthBitPackingHybridEncoder(1, 64, 1 << 20,
        HeapByteBufferAllocator.getInstance());
    int nulls = 0;
    for (Token t : rows) {
      switch (name) {
        case "doc_id" -> {
          byte[] b = t.doc().getBytes(java.nio.charset.StandardCharsets.UTF_8);
          values.write(le(4, b.length));
          values.write(b);
          stats.updateStats(Binary.fromConstantByteArray(b));
        }
        case "head" -> {
          values.write(le(4, t.head()));
          stats.updateStats(t.head());
        }
        case "pos" -> {
          values.write(le(8, t.pos()));
          stats.updateStats(t.pos());
        }
        default -> {
          byte[] v = t.vectors()["qkv".indexOf(name)];
          if (optional) {
            levels.writeInt(v == null ? 0 : 1);
          }
          if (v == null) {
            nulls++;
            stats.incrementNumNulls();
          } else {
            values.write(le(4, v.length));
            values.write(v);
            stats.updateStats(Binary.fromConstantByteArray(v));
          }
        }
      }
    }
    byte[] definitions = optional ? levels.toBytes().toByteArray() : new byte[0];
    byte[] data = values.toByteArray();
    if (v2) {
      byte[] stored = compress(codec, data);
      w.writeDataPageV2(rows.size(), nulls, rows.size(), BytesInput.empty(), BytesInput.from(definitions),
          Encoding.PLAIN, BytesInput.from(stored), data.length, stats);
    } else {
      ByteArrayOutputStream page = new ByteArrayOutputStream();
      if (optional) {
        page.write(le(4, definitions.length));
        page.write(definitions);
      }
      page.write(data);
      byte[] raw = page.toByteArray();
      w.writeDataPage(rows.size(), raw.length, BytesInput.from(compress(codec, raw)), stats, rows.size(),
          Encoding.BIT_PACKED, Encoding.RLE, Encoding.PLAIN);
    }
  }

  /** A file whose q chunk's metadata claims more values than its pages hold. */
  private static void writeShort(Path file) throws IOException {
    List<Token> tokens = tokens(new SplittableRandom(1), 100);
    ParquetFileWriter w = new ParquetFileWriter(new Configuration(), SCHEMA, new org.apache.hadoop.fs.Path(file.toUri()));
    w.start();
    w.startBlock(100);
    for (ColumnDescriptor column : SCHEMA.getColumns()) {
      w.startColumn(column, 100, CompressionCodecName.UNCOMPRESSED);
      boolean q = column.getPath()[0].equals("q");
      writePage(w, column, q ? tokens.subList(0, 60) : tokens, false, CompressionCodecName.UNCOMPRESSED);
      w.endColumn();
    }
    w.endBlock();
    w.end(Map.of());
  }

  private static byte[] compress(CompressionCodecName codec, byte[] raw) throws IOException {
    return switch (codec) {
      case UNCOMPRESSED -> raw;
      case SNAPPY -> org.xerial.snappy.Snappy.compress(raw);
      case GZIP -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream z = new java.util.zip.GZIPOutputStream(out)) {
          z.write(raw);
        }
        yield out.toByteArray();
      }
      default -> throw new IllegalArgumentException(codec.name());
    };
  }

  private static byte[] le(int bytes, long value) {
    ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes == 4) {
      b.putInt((int) value);
    } else {
      b.putLong(value);
    }
    return b.array();
  }
}
