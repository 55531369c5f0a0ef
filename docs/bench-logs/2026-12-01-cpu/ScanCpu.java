package io.flashspark.job;

import org.apache.spark.sql.*;

public class ScanCpu {
  public static void main(String[] a) {
    SparkSession spark = FlashSpark.session("scancpu");
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    for (int rep = 0; rep < 4; rep++) {
      long c0 = os.getProcessCpuTime();
      long t1 = System.nanoTime();
      long n = spark.read().parquet(a[0]).selectExpr("sum(length(q) + length(k) + length(v))").first().getLong(0);
      System.out.printf("scan only: wall %.2f s, process CPU %.2f s (%d bytes)%n", (System.nanoTime() - t1) / 1e9,
          (os.getProcessCpuTime() - c0) / 1e9, n);
    }
  }
}
