package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A partial of one Q block, with the block's positions so the merged result can be written. As a
 * Spark row ({@link #SCHEMA}): the block's key, {@code final} (true when no other partial of the
 * block exists, so it goes to the output without a merge), and little-endian binary arrays
 * {@code pos int64[rows]}, {@code o fp32[rows][dim]}, {@code m fp32[rows]}, {@code l fp32[rows]}.
 */
public record BlockPartial(long[] pos, Partial partial) {
  public static final StructType SCHEMA = DataTypes.createStructType(List.of(
      DataTypes.createStructField(TokenTable.DOC_ID, DataTypes.StringType, false),
      DataTypes.createStructField(TokenTable.HEAD, DataTypes.IntegerType, false),
      DataTypes.createStructField("block", DataTypes.LongType, false),
      DataTypes.createStructField("final", DataTypes.BooleanType, false),
      DataTypes.createStructField("dim", DataTypes.IntegerType, false),
      DataTypes.createStructField("pos", DataTypes.BinaryType, false),
      DataTypes.createStructField("o", DataTypes.BinaryType, false),
      DataTypes.createStructField("m", DataTypes.BinaryType, false),
      DataTypes.createStructField("l", DataTypes.BinaryType, false)));

  /** Merges {@code other} into this one (in place) and returns this. */
  public BlockPartial mergeFrom(BlockPartial other) {
    partial.mergeFrom(other.partial);
    return this;
  }

  /** Bytes of one partial row of a block of {@code rows} query rows at head dimension {@code dim}. */
  public static long bytes(long rows, int dim) {
    return rows * (Long.BYTES + (long) dim * Float.BYTES + 2L * Float.BYTES);
  }

  public Row toRow(BlockKey key, boolean isFinal) {
    int rows = partial.rows();
    ByteBuffer p = ByteBuffer.allocate(rows * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    p.asLongBuffer().put(pos);
    return RowFactory.create(key.docHead().docId(), key.docHead().head(), key.index(), isFinal, partial.dim(),
        p.array(), floats(partial.o()), floats(partial.m()), floats(partial.l()));
  }

  /** Computed blocks as {@link #SCHEMA} rows. */
  static Dataset<Row> frame(JavaRDD<CellTask.Computed> computed, SparkSession spark) {
    return spark.createDataFrame(computed.map(CellTask.Computed::toRow), SCHEMA);
  }

  public static BlockKey key(Row row) {
    return new BlockKey(new DocHead(row.getString(0), row.getInt(1)), row.getLong(2));
  }

  public static boolean isFinal(Row row) {
    return row.getBoolean(3);
  }

  public static BlockPartial of(Row row) {
    int dim = row.getInt(4);
    ByteBuffer p = ByteBuffer.wrap((byte[]) row.get(5)).order(ByteOrder.LITTLE_ENDIAN);
    long[] pos = new long[p.remaining() / Long.BYTES];
    p.asLongBuffer().get(pos);
    float[] m = floats((byte[]) row.get(7));
    return new BlockPartial(pos, new Partial(pos.length, dim, floats((byte[]) row.get(6)), m, floats((byte[]) row.get(8))));
  }

  private static byte[] floats(float[] x) {
    ByteBuffer b = ByteBuffer.allocate(x.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(x);
    return b.array();
  }

  private static float[] floats(byte[] x) {
    float[] out = new float[x.length / Float.BYTES];
    ByteBuffer.wrap(x).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }
}
