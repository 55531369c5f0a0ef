package io.flashspark.job;

import org.apache.spark.sql.*;

public class PackCpu {
  static long gc() {
    long t = 0;
    for (java.lang.management.GarbageCollectorMXBean b : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
      t += b.getCollectionTime();
    }
    return t;
  }

  public static void main(String[] a) {
    SparkSession spark = FlashSpark.session("packcpu");
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    for (int rep = 0; rep < Integer.getInteger("reps", 4); rep++) {
      long c0 = os.getProcessCpuTime();
      long g0 = gc();
      long t1 = System.nanoTime();
      Fragments.Table f = Fragments.pack(spark.read().parquet(a[0]), a[0], TableRole.SELF, null, 2048, null, null, null);
      long n = f.rows().selectExpr("sum(length(kv) + length(q))").first().getLong(0);
      System.out.printf("%s pack: wall %.2f s, process CPU %.2f s, GC %.2f s (%d bytes)%n", a[1], (System.nanoTime() - t1) / 1e9,
          (os.getProcessCpuTime() - c0) / 1e9, (gc() - g0) / 1e3, n);
    }
  }
}
