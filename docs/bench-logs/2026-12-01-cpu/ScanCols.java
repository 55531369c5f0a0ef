package io.flashspark.job;

import org.apache.spark.sql.*;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.execution.*;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.unsafe.types.UTF8String;

/** Scan cost of the packed input: Tungsten rows (as Fragments reads them) vs the scan's column batches. */
public class ScanCols {
  static long touch(UTF8String s) { // read the bytes like a copy would
    long h = 0;
    Object b = s.getBaseObject(); long o = s.getBaseOffset(); int n = s.numBytes();
    for (int i = 0; i + 8 <= n; i += 64) h += org.apache.spark.unsafe.Platform.getLong(b, o + i);
    return h + n;
  }

  public static void main(String[] a) {
    SparkSession spark = FlashSpark.session("scancols");
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    for (int rep = 0; rep < 4; rep++) {
      for (String mode : new String[] {"rows", "columns"}) {
        Dataset<Row> df = spark.read().parquet(a[0]).select("doc_id", "head", "pos", "q", "k", "v");
        long c0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        long sum;
        if (mode.equals("rows")) {
          sum = ((org.apache.spark.sql.classic.Dataset<Row>) df).queryExecution().toRdd().toJavaRDD()
              .mapPartitions(it -> {
                long s = 0;
                while (it.hasNext()) {
                  InternalRow r = (InternalRow) it.next();
                  s += r.getUTF8String(0).numBytes() + r.getLong(2);
                  for (int f = 3; f < 6; f++) s += touch(TokenTable.binaryView(r, f));
                }
                return java.util.List.of(s).iterator();
              }).reduce(Long::sum);
        } else {
          SparkPlan plan = ((org.apache.spark.sql.classic.Dataset<Row>) df).queryExecution().executedPlan();
          SparkPlan scan = plan.collectFirst(new scala.runtime.AbstractPartialFunction<SparkPlan, SparkPlan>() {
            public boolean isDefinedAt(SparkPlan p) { return p instanceof org.apache.spark.sql.execution.FileSourceScanExec; }
            public SparkPlan apply(SparkPlan p) { return p; }
          }).get();
          sum = scan.executeColumnar().toJavaRDD().mapPartitions(it -> {
            long s = 0;
            while (it.hasNext()) {
              ColumnarBatch b = (ColumnarBatch) it.next();
              int n = b.numRows();
              for (int i = 0; i < n; i++) {
                s += b.column(0).getUTF8String(i).numBytes() + b.column(2).getLong(i);
                for (int f = 3; f < 6; f++) s += touch(b.column(f).getUTF8String(i));
              }
            }
            return java.util.List.of(s).iterator();
          }).reduce(Long::sum);
        }
        System.out.printf("%s: wall %.2f s, process CPU %.2f s (sum %d)%n", mode, (System.nanoTime() - t0) / 1e9,
            (os.getProcessCpuTime() - c0) / 1e9, sum);
      }
    }
  }
}
