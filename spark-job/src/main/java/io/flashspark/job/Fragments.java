package io.flashspark.job;

import io.flashspark.attention.PackedRows;
import io.flashspark.attention.Precision;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Step one of {@code score}: a token table becomes <em>fragments</em>, each a run of one block's
 * rows packed on the map side ({@link PackedRows}), with no shuffle. An input partition holds one
 * fragment per block it touches (input sorted by position: whole blocks, or two halves where a
 * split cuts one), so later stages move a few large binary values instead of one row per token.
 *
 * <p>Schema: {@code doc_id, head, block, rows, dim, problem, q, kv}: {@code q} packs the query
 * side (positions and q), {@code kv} the key side (positions, k, v); either is null when the
 * table's role lacks it. Rows are checked as they are packed (nulls, head range, vector lengths
 * against the job's head dimension, finite values, duplicate positions within the fragment); a
 * fragment with a problem carries its first one and no data, and whoever reads the fragments
 * reports it ({@link CellRouter.Route}: the job stops with exit 2 before any cell runs).
 */
public final class Fragments {
  public static final StructType SCHEMA = DataTypes.createStructType(List.of(
      DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, false),
      DataTypes.createStructField(TokenTable.HEAD, DataTypes.IntegerType, false),
      DataTypes.createStructField("block", DataTypes.LongType, false),
      DataTypes.createStructField("rows", DataTypes.IntegerType, false),
      DataTypes.createStructField("dim", DataTypes.IntegerType, false),
      DataTypes.createStructField("min_pos", DataTypes.LongType, false),
      DataTypes.createStructField("max_pos", DataTypes.LongType, false),
      DataTypes.createStructField("problem", DataTypes.StringType, true),
      DataTypes.createStructField("q", DataTypes.BinaryType, true),
      DataTypes.createStructField("kv", DataTypes.BinaryType, true)));

  /** Packed bytes a partition buffers before it emits its fragments (bounds the task's memory). */
  static final long FLUSH_BYTES = 64L << 20;

  private Fragments() {}

  /**
   * The fragments of a token table (named {@code name} in messages).
   *
   * @param precision the job's precision, or null (the backend's default): fp32 inputs are
   *     rounded to a 16-bit precision here when one is asked for, since the kernels would round
   *     them anyway; 16-bit inputs travel as they are
   * @param dim the job's head dimension, which every vector must have (a row that differs is a
   *     problem), or -1: the first row of each block sets it for the block
   */
  public static Table pack(Dataset<Row> table, String name, TableRole role, VectorEncoding packedAs, int blockSize,
      Precision precision, int dim) {
    return pack(table, name, role, packedAs, blockSize, precision, dim, ColumnarScan.of(table, role));
  }

  /**
   * {@link #pack} reading {@code columnar}, the table's scan as column batches where it is a packed
   * Parquet table ({@link ColumnarScan#of}), else empty: rows, no Tungsten row per token in between.
   */
  static Table pack(Dataset<Row> table, String name, TableRole role, VectorEncoding packedAs, int blockSize,
      Precision precision, int dim, java.util.Optional<ColumnarScan.Tokens> columnar) {
    TokenTable.Columns cols = TokenTable.columns(table, name, role, packedAs);
    Precision q = role.has("q") ? shipped(cols.encoding("q"), precision) : null;
    Precision kv = role.has("k") ? shipped(common(cols.encoding("k"), cols.encoding("v")), precision) : null;
    org.apache.spark.sql.classic.Dataset<Row> tokens = (org.apache.spark.sql.classic.Dataset<Row>) cols.rows();
    Packer packer = new Packer(role, cols.encodings(), blockSize, q, kv, dim,
        columnar.map(ColumnarScan.Tokens::intHead).orElse(false), columnar.map(ColumnarScan.Tokens::intPos).orElse(false));
    RDD<InternalRow> fragments = columnar.map(scan -> scan.flatMap(packer, packer.vectorColumns()))
        .orElseGet(() -> tokens.queryExecution().toRdd().toJavaRDD().mapPartitions(packer).rdd())
        .setName("flashspark fragments of '" + name + "'");
    return new Table(tokens.sparkSession().internalCreateDataFrame(fragments, SCHEMA, false), q, kv,
        columnar.orElse(null), packer);
  }

  /**
   * A table's fragments and the precisions its sides travel in (null where the role lacks one);
   * for a packed Parquet table also its scan's column batches and the packer, with which cells
   * can read their input partitions themselves ({@link DirectCells}; null otherwise).
   */
  public record Table(Dataset<Row> rows, Precision query, Precision keys, ColumnarScan.Tokens scan, Packer packer) {
    /** Bytes per value of the widest side that travels. */
    public int valueBytes() {
      return Math.max(query == null ? 2 : PackedRows.valueBytes(query), keys == null ? 2 : PackedRows.valueBytes(keys));
    }

    /** Whether every side present travels in {@code precision}. */
    public boolean shippedIn(Precision precision) {
      return (query == null || query == precision) && (keys == null || keys == precision);
    }
  }

  /**
   * One fragment held in the task that packed it: its block, rows, first problem (then no data)
   * and packed sides (null where the role lacks one).
   */
  record Piece(DocHead docHead, long block, int rows, String problem, PackedRows q, PackedRows kv) {}

  /** The precision a vector column travels in: its own when 16-bit, else the job's when 16-bit, else fp32. */
  static Precision shipped(VectorEncoding input, Precision precision) {
    if (input == VectorEncoding.BF16) {
      return Precision.BF16;
    }
    if (input == VectorEncoding.FP16) {
      return Precision.FP16;
    }
    return precision == null ? Precision.FP32 : precision;
  }

  /** k and v share one packed value, so one encoding: theirs if equal, else fp32. */
  private static VectorEncoding common(VectorEncoding k, VectorEncoding v) {
    return k == v ? k : VectorEncoding.FP32;
  }

  /**
   * Packs one input partition into fragments, one open writer per block. Works on Spark's
   * Tungsten rows as the scan gives them (no external Row per token) and emits each fragment as an
   * UnsafeRow of exactly its size, made once and never reused.
   */
  static final class Packer implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {
    private static final long serialVersionUID = 1L;
    private final TableRole role;
    private final VectorEncoding[] inputs; // per q, k, v; null when the role lacks it
    private final int blockSize;
    private final Precision qAs;
    private final Precision kvAs;
    private final int jobDim; // -1: each block's first row sets its dimension
    private final boolean intHead; // head and pos as the scan has them (int) or as cast to long
    private final boolean intPos;

    Packer(TableRole role, VectorEncoding[] inputs, int blockSize, Precision qAs, Precision kvAs, int jobDim,
        boolean intHead, boolean intPos) {
      this.role = role;
      this.inputs = inputs;
      this.blockSize = blockSize;
      this.qAs = qAs;
      this.kvAs = kvAs;
      this.jobDim = jobDim;
      this.intHead = intHead;
      this.intPos = intPos;
    }

    /** The vector columns the packer reads, after {@code doc_id, head, pos}, in order. */
    List<String> vectorColumns() {
      return role.vectorColumns();
    }

    boolean intHead() {
      return intHead;
    }

    /** Positions per block. */
    int blockSize() {
      return blockSize;
    }

    boolean intPos() {
      return intPos;
    }

    /** The rows of one block seen so far in this partition. */
    private final class Open {
      final String docId;
      final UTF8String docIdUtf8;
      final int head;
      final long block;
      PackedRows.Writer q;
      PackedRows.Writer kv;
      String problem;
      int rows;
      int dim = -1;
      long minPos = Long.MAX_VALUE;
      long maxPos = Long.MIN_VALUE;

      Open(String docId, UTF8String docIdUtf8, int head, long block) {
        this.docId = docId;
        this.docIdUtf8 = docIdUtf8;
        this.head = head;
        this.block = block;
      }

      long bytes() {
        return (q == null ? 0 : q.bytes()) + (kv == null ? 0 : kv.bytes());
      }

      void fail(String what) {
        if (problem == null) {
          problem = new DocHead(docId, head) + ": " + what;
          release();
        }
      }

      /** Hands the writers' arrays back for the partition's next blocks; the fragment keeps no data. */
      void release() {
        if (q != null) {
          q.release();
          q = null;
        }
        if (kv != null) {
          kv.release();
          kv = null;
        }
      }

      /**
       * The fragment as an UnsafeRow made once at its exact size, the packed sides written straight
       * into it (one copy of the vectors from the writers, none through intermediate arrays).
       */
      InternalRow finish() {
        try {
          return row(problem == null ? q : null, problem == null ? kv : null);
        } catch (IllegalArgumentException e) {
          fail(e.getMessage()); // a duplicate position
          return row(null, null);
        }
      }

      /** The fragment as a {@link Piece}, its packed sides in arrays of their own. */
      Piece piece() {
        DocHead dh = new DocHead(docId, head);
        if (problem == null) {
          try {
            return new Piece(dh, block, rows, null, q == null ? null : q.finishRows(),
                kv == null ? null : kv.finishRows());
          } catch (IllegalArgumentException e) {
            fail(e.getMessage()); // a duplicate position
          }
        }
        return new Piece(dh, block, rows, problem, null, null);
      }

      private InternalRow row(PackedRows.Writer qSide, PackedRows.Writer kvSide) {
        UTF8String problemUtf8 = problem == null ? null : UTF8String.fromString(problem);
        int varBytes = padded(docIdUtf8.numBytes()) + (problemUtf8 == null ? 0 : padded(problemUtf8.numBytes()))
            + (qSide == null ? 0 : padded(packedSize(qSide))) + (kvSide == null ? 0 : padded(packedSize(kvSide)));
        UnsafeRowWriter w = new UnsafeRowWriter(SCHEMA.size(), varBytes); // sized once: no growth, no copy
        w.resetRowWriter();
        w.write(0, docIdUtf8);
        w.write(1, head);
        w.write(2, block);
        w.write(3, rows);
        w.write(4, Math.max(dim, 0));
        w.write(5, minPos);
        w.write(6, maxPos);
        if (problemUtf8 == null) {
          w.setNullAt(7);
        } else {
          w.write(7, problemUtf8);
        }
        writePacked(w, 8, qSide);
        writePacked(w, 9, kvSide);
        return w.getRow();
      }

      private int packedSize(PackedRows.Writer side) {
        long size = side.bytes();
        if (size > Integer.MAX_VALUE - 64) {
          throw new IllegalStateException("packed rows of " + size + " bytes exceed a Java array");
        }
        return (int) size;
      }

      /**
       * What {@code UnsafeRowWriter.write(ordinal, byte[])} does, with the bytes written in place
       * by {@code side} instead of copied from an array: the value at the cursor, zero padding to a
       * word, and the field holding (offset from the row's start) << 32 | size. The row is this
       * writer's own, starting at the buffer's first byte.
       */
      private void writePacked(UnsafeRowWriter w, int ordinal, PackedRows.Writer side) {
        if (side == null) {
          w.setNullAt(ordinal);
          return;
        }
        int size = packedSize(side);
        int rounded = padded(size);
        w.grow(rounded);
        int at = w.cursor() - Platform.BYTE_ARRAY_OFFSET;
        byte[] buffer = w.getBuffer();
        side.finishInto(buffer, at);
        java.util.Arrays.fill(buffer, at + size, at + rounded, (byte) 0);
        w.write(ordinal, ((long) at << 32) | size);
        w.increaseCursor(rounded);
      }

      private int padded(int bytes) {
        return (bytes + 7) & ~7;
      }
    }

    @Override public Iterator<InternalRow> call(Iterator<InternalRow> input) {
      return fragments(input, Open::finish, false, null);
    }

    /**
     * The partition's fragments as {@link Piece}s (cells that read their input themselves). A block
     * whose first row is its first position is written in place, in its final layout for a whole
     * block ({@link PackedRows.Writer}'s expected rows): sorted, dense input then makes each piece
     * with no copy from growing arrays, in {@code slabs} where given (null: an array each).
     */
    Iterator<Piece> pieces(Iterator<InternalRow> input, PackedRows.Slabs slabs) {
      return fragments(input, Open::piece, true, slabs);
    }

    /**
     * Packs the partition's rows, up to {@link #FLUSH_BYTES} at a time, and hands each open block
     * to {@code finish} for the fragment it makes.
     */
    private <T> Iterator<T> fragments(Iterator<InternalRow> input, java.util.function.Function<Open, T> finish,
        boolean inPlace, PackedRows.Slabs slabs) {
      ColumnarScan.SameDocId batchRows = input instanceof ColumnarScan.SameDocId b ? b : null;
      return new Iterator<>() {
        private final Map<BlockKey, Open> open = new HashMap<>();
        private final Open[] last = new Open[1]; // the previous row's block; a flush forgets it
        private final RowVectors vectors = new RowVectors(inPlace, slabs);
        private long buffered;
        private Iterator<T> ready = java.util.Collections.emptyIterator();

        @Override public boolean hasNext() {
          while (!ready.hasNext()) {
            if (!input.hasNext() && open.isEmpty()) {
              return false;
            }
            while (input.hasNext() && buffered < FLUSH_BYTES) {
              InternalRow row = input.next();
              buffered += add(open, last, vectors, row, batchRows != null && batchRows.sameDocId());
            }
            List<T> out = new ArrayList<>(open.size());
            for (Open o : open.values()) {
              out.add(finish.apply(o));
              o.release();
            }
            open.clear();
            last[0] = null;
            buffered = 0;
            ready = out.iterator();
          }
          return true;
        }

        @Override public T next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return ready.next();
        }
      };
    }

    private static final UTF8String NULL_DOC = UTF8String.fromString("<null>");

    /**
     * Adds one token row (doc_id, head, pos, then the role's vectors) to its block's writers; returns
     * the bytes it added. {@code sameDocId}: the row's doc_id is the previous row's (known from the
     * scan's dictionary ids), so it is taken from the previous row's block instead of decoded.
     */
    private long add(Map<BlockKey, Open> open, Open[] lastOpen, RowVectors vectors, InternalRow row,
        boolean sameDocId) {
      UTF8String docIdUtf8 = sameDocId && lastOpen[0] != null ? lastOpen[0].docIdUtf8
          : row.isNullAt(0) ? NULL_DOC : row.getUTF8String(0);
      boolean nullKey = row.isNullAt(0) || row.isNullAt(1) || row.isNullAt(2);
      long head = nullKey ? -1 : intHead ? row.getInt(1) : row.getLong(1);
      long pos = nullKey ? -1 : intPos ? row.getInt(2) : row.getLong(2);
      long block = nullKey ? Long.MIN_VALUE : Math.floorDiv(pos, (long) blockSize);
      Open o = lastOpen[0];
      // input sorted by position (the usual case) keeps hitting the block of the row before; the
      // doc id is compared as bytes, a String is made only for a new block
      if (o == null || o.block != block || o.head != (int) head || !o.docIdUtf8.equals(docIdUtf8)) {
        UTF8String kept = docIdUtf8.clone(); // the scan reuses the row's buffer
        String docId = kept.toString();
        o = open.computeIfAbsent(new BlockKey(new DocHead(docId, (int) head), block),
            k -> new Open(docId, kept, (int) head, block));
      }
      lastOpen[0] = o;
      long before = o.bytes();
      o.rows++;
      o.minPos = Math.min(o.minPos, pos);
      o.maxPos = Math.max(o.maxPos, pos);
      if (o.problem != null) {
        return 0;
      }
      if (nullKey) {
        o.fail("null doc_id, head or pos");
        return 0;
      }
      if (head != (int) head) {
        o.fail("head " + head + " does not fit a 32-bit int");
        return 0;
      }
      int field = 3;
      for (int i = 0; i < 3; i++) {
        if (inputs[i] == null) {
          continue;
        }
        if (row.isNullAt(field)) {
          o.fail("column '" + NAMES[i] + "' is null at pos " + pos);
          return 0;
        }
        int dim;
        if (inputs[i].packed()) {
          int length = vectors.point(i, row, field);
          dim = length % inputs[i].bytesPerValue() != 0 ? -1 : length / inputs[i].bytesPerValue();
          if (dim < 0) {
            o.fail("column '" + NAMES[i] + "' at pos " + pos + ": packed " + inputs[i].label() + " value of "
                + length + " bytes is not a whole number of " + inputs[i].bytesPerValue() + "-byte values");
            return 0;
          }
        } else {
          vectors.arrays[i] = row.getArray(field);
          dim = vectors.arrays[i].numElements();
        }
        if (dim == 0) {
          o.fail("vectors of length 0 at pos " + pos);
          return 0;
        }
        if (jobDim > 0 && dim != jobDim) {
          o.fail("column '" + NAMES[i] + "' at pos " + pos + " has " + dim + " values but the job's head dimension"
              + " (its input's first row) is " + jobDim);
          return 0;
        }
        if (o.dim < 0) {
          o.dim = dim;
        } else if (dim != o.dim) {
          o.fail("column '" + NAMES[i] + "' at pos " + pos + " has " + dim + " values but the block's vectors have "
              + o.dim);
          return 0;
        }
        field++;
      }
      String problem = addVectors(o, pos, vectors);
      if (problem != null) {
        o.fail(problem + " at pos " + pos);
        return 0;
      }
      return o.bytes() - before;
    }

    private static final String[] NAMES = {"q", "k", "v"};

    private String addVectors(Open o, long pos, RowVectors vectors) {
      // a whole block expected where its first row is its first position (sorted, dense input)
      int expected = vectors.inPlace && o.rows == 1 && pos == o.block * blockSize ? blockSize : 0;
      if (inputs[0] != null) {
        if (o.q == null) {
          o.q = new PackedRows.Writer(o.dim, qAs, 1, vectors.buffers, expected, vectors.slabs);
        }
        String p = add(o.q, pos, vectors, 0, 1);
        if (p != null) {
          return p;
        }
      }
      if (inputs[1] != null) {
        if (o.kv == null) {
          o.kv = new PackedRows.Writer(o.dim, kvAs, 2, vectors.buffers, expected, vectors.slabs);
        }
        return add(o.kv, pos, vectors, 1, 2);
      }
      return null;
    }

    /**
     * Adds the row's vectors {@code first..first + count - 1} (0 q, 1 k, 2 v) to {@code w}: copied
     * from where the scan holds them and checked there when the encodings agree, else converted
     * through fp32.
     */
    private String add(PackedRows.Writer w, long pos, RowVectors vectors, int first, int count) {
      Precision to = w.encoding();
      boolean direct = true;
      for (int i = first; i < first + count; i++) {
        direct &= inputs[i].packed() && inputs[i].precision() == to;
      }
      if (direct) {
        vectors.bad = -1;
        w.addEncoded(pos, vectors.source(first));
        return vectors.bad < 0 ? null
            : "column '" + NAMES[vectors.badColumn] + "' has a non-finite value at index " + vectors.bad;
      }
      float[][] floats = new float[count][];
      for (int c = 0; c < count; c++) {
        int i = first + c;
        if (inputs[i].packed()) {
          floats[c] = inputs[i].decode(vectors.bytes(i), new String[1]);
        } else {
          ArrayData array = vectors.arrays[i];
          floats[c] = new float[array.numElements()];
          for (int j = 0; j < floats[c].length; j++) {
            if (array.isNullAt(j)) {
              return "column '" + NAMES[i] + "' has a null element at index " + j;
            }
            floats[c][j] = array.getFloat(j);
          }
        }
        for (int j = 0; j < floats[c].length; j++) {
          if (!Float.isFinite(floats[c][j])) {
            return "column '" + NAMES[i] + "' has " + floats[c][j] + " at index " + j;
          }
        }
      }
      w.addFloats(pos, floats);
      return null;
    }

    /**
     * The current row's vectors where the scan holds them: a packed value is read in place (the
     * Tungsten row's bytes, no array per value) and copied once, into its writer, where it is then
     * checked for non-finite values; {@code array<float>} values as Spark's ArrayData.
     */
    private final class RowVectors {
      // each packed vector where the row holds it, not a copy (TokenTable.binaryView, ParquetTokens.View)
      final Object[] base = new Object[3];
      final long[] offset = new long[3];
      final int[] length = new int[3];
      final ArrayData[] arrays = new ArrayData[3];
      final PackedRows.Buffers buffers = new PackedRows.Buffers(FLUSH_BYTES); // writers' arrays, reused flush to flush
      final boolean inPlace; // whole blocks written in their final layout (pieces)
      final PackedRows.Slabs slabs; // where they are laid out (null: an array each)
      int bad = -1; // the first non-finite value found while copying, and its column
      int badColumn = -1;
      private final PackedRows.EncodedSource[] sources = {copier(0), copier(1)};

      RowVectors(boolean inPlace, PackedRows.Slabs slabs) {
        this.inPlace = inPlace;
        this.slabs = slabs;
      }

      /** Points at packed column {@code column} of {@code row} (field {@code field}); returns its length. */
      int point(int column, InternalRow row, int field) {
        if (row instanceof ParquetTokens.View view && view.pointed(field)) {
          base[column] = view.base(field);
          offset[column] = view.offset(field);
          length[column] = view.length(field);
        } else {
          UTF8String packed = TokenTable.binaryView(row, field);
          base[column] = packed.getBaseObject();
          offset[column] = packed.getBaseOffset();
          length[column] = packed.numBytes();
        }
        return length[column];
      }

      byte[] bytes(int column) {
        byte[] copy = new byte[length[column]];
        Platform.copyMemory(base[column], offset[column], copy, Platform.BYTE_ARRAY_OFFSET, copy.length);
        return copy;
      }

      PackedRows.EncodedSource source(int first) {
        return sources[first == 0 ? 0 : 1];
      }

      private PackedRows.EncodedSource copier(int first) {
        return (vector, dst, at, bytes) -> {
          int column = first + vector;
          Platform.copyMemory(base[column], offset[column], dst, Platform.BYTE_ARRAY_OFFSET + at, bytes);
          if (bad < 0) {
            bad = VectorEncoding.firstNonFinite(dst, at, bytes, inputs[column]);
            badColumn = column;
          }
        };
      }
    }
  }
}
