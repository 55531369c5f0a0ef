package io.flashspark.rapids;

import ai.rapids.cudf.BaseDeviceMemoryBuffer;
import ai.rapids.cudf.ColumnVector;
import ai.rapids.cudf.ColumnView;
import ai.rapids.cudf.Cuda;
import ai.rapids.cudf.DType;
import ai.rapids.cudf.DeviceMemoryBuffer;
import com.nvidia.spark.RapidsUDF;
import io.flashspark.gpu.ListAttention;
import io.flashspark.sql.AttentionFunctions;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;
import org.apache.spark.sql.Row;

/**
 * {@code flash_attention} for the RAPIDS Accelerator: {@link #call} is the row path
 * ({@link AttentionFunctions#attend}, used whenever the plugin is off or leaves the projection on the
 * CPU), {@link #evaluateColumnar} the GPU path. The plugin hands over the batch's columns already on
 * the device; the kernel ({@link ListAttention}, kernels/src/list_attention.cu) reads their buffers
 * where they are, through JCuda in the primary context the plugin uses, and writes the result into
 * buffers allocated through RMM, which become the returned {@code struct<o: array<float>, lse: double>}
 * column. Nothing goes to the host but the kernel's 16-byte outcome (and, for bad input, the few
 * values its message names). Built only by the {@code rapids} Maven profile; selected by
 * {@link AttentionFunctions#flashAttention} when present.
 */
public final class GpuFlashAttention implements AttentionFunctions.Attend, RapidsUDF {
  private static final long serialVersionUID = 1L;
  private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();

  @Override public Row call(scala.collection.Seq<Object> q, scala.collection.Seq<scala.collection.Seq<Object>> keys,
      scala.collection.Seq<scala.collection.Seq<Object>> values, Double scale) {
    return AttentionFunctions.attend(q, keys, values, scale);
  }

  @Override public ColumnVector evaluateColumnar(int numRows, ColumnVector... args) {
    if (args.length != 4) {
      throw new IllegalArgumentException(AttentionFunctions.ATTENTION + " takes 4 columns on the GPU, got "
          + args.length);
    }
    ColumnVector q = args[0];
    ColumnVector keys = args[1];
    ColumnVector values = args[2];
    ColumnVector scale = args[3];
    expect(q, "q", DType.LIST, DType.FLOAT32);
    expect(keys, "keys", DType.LIST, DType.LIST);
    expect(values, "values", DType.LIST, DType.LIST);
    if (!scale.getType().equals(DType.FLOAT64)) {
      throw new IllegalArgumentException(AttentionFunctions.ATTENTION + ": scale arrived as " + scale.getType());
    }
    int rows = (int) q.getRowCount();
    try (ColumnView qValues = q.getChildColumnView(0);
         ColumnView keyVectors = keys.getChildColumnView(0);
         ColumnView keyValues = keyVectors.getChildColumnView(0);
         ColumnView valueVectors = values.getChildColumnView(0);
         ColumnView valueValues = valueVectors.getChildColumnView(0)) {
      if (!keyValues.getType().equals(DType.FLOAT32) || !valueValues.getType().equals(DType.FLOAT32)) {
        throw new IllegalArgumentException(AttentionFunctions.ATTENTION + ": keys/values arrived as "
            + keys.getType() + " of " + keyValues.getType() + " (expected array<array<float>>)");
      }
      long qCount = qValues.getRowCount();
      long vectors = keyVectors.getRowCount();
      try (DeviceMemoryBuffer o = DeviceMemoryBuffer.allocate(Math.max(4 * qCount, 8));
           DeviceMemoryBuffer lse = DeviceMemoryBuffer.allocate(Math.max(8L * rows, 8));
           DeviceMemoryBuffer valid = DeviceMemoryBuffer.allocate(ListAttention.validityBytes(rows));
           DeviceMemoryBuffer scratch = DeviceMemoryBuffer.allocate(ListAttention.scratchBytes(rows, vectors))) {
        Cuda.DEFAULT_STREAM.sync(); // the plugin's writes of the inputs and RMM's allocations are done
        ListAttention.Outcome outcome = ListAttention.run(Cuda.getDevice(),
            new ListAttention.DeviceBatch(rows, address(qValues.getData()), address(q.getOffsets()),
                address(q.getValid()), address(qValues.getValid()), vectors(keys, keyVectors, keyValues),
                vectors(values, valueVectors, valueValues), address(scale.getData()), address(scale.getValid()),
                vectors),
            new ListAttention.DeviceOutput(o.getAddress(), lse.getAddress(), valid.getAddress(),
                scratch.getAddress()));
        if (ANNOUNCED.compareAndSet(false, true)) { // once per JVM: where the function ran, for the logs
          LogManager.getLogger(GpuFlashAttention.class).info("{}: columnar path on GPU {} (first batch: {} rows,"
              + " {} key vectors)", AttentionFunctions.ATTENTION, Cuda.getDevice(), rows, vectors);
        }
        if (outcome.problem() != null) {
          throw AttentionFunctions.error(outcome.problem());
        }
        // views over the kernel's buffers (o at q's offsets), copied into one owned column
        try (ColumnView oValues = new ColumnView(DType.FLOAT32, qCount, Optional.of(0L), o, null);
             ColumnView oList = new ColumnView(DType.LIST, rows, Optional.of(0L), null, q.getOffsets(),
                 new ColumnView[] {oValues});
             ColumnView lseView = new ColumnView(DType.FLOAT64, rows, Optional.of(0L), lse, null);
             ColumnView result = new ColumnView(DType.STRUCT, rows, Optional.of(outcome.nullRows()),
                 outcome.nullRows() > 0 ? valid : null, null, new ColumnView[] {oList, lseView})) {
          return result.copyToColumnVector();
        }
      }
    }
  }

  private static ListAttention.DeviceVectors vectors(ColumnView list, ColumnView vectors, ColumnView elements) {
    return new ListAttention.DeviceVectors(address(elements.getData()), address(list.getOffsets()),
        address(vectors.getOffsets()), address(list.getValid()), address(vectors.getValid()),
        address(elements.getValid()));
  }

  private static long address(BaseDeviceMemoryBuffer b) {
    return b == null ? 0 : b.getAddress();
  }

  private static void expect(ColumnView c, String name, DType type, DType child) {
    if (!c.getType().equals(type) || c.getNumChildren() != 1) {
      throw new IllegalArgumentException(AttentionFunctions.ATTENTION + ": " + name + " arrived as " + c.getType());
    }
    try (ColumnView v = c.getChildColumnView(0)) {
      if (!v.getType().equals(child)) {
        throw new IllegalArgumentException(AttentionFunctions.ATTENTION + ": " + name + " arrived as a list of "
            + v.getType());
      }
    }
  }
}
