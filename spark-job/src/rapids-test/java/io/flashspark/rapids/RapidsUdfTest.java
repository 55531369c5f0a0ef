package io.flashspark.rapids;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nvidia.spark.RapidsUDF;
import io.flashspark.sql.AttentionFunctions;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ScalaUDF;
import org.apache.spark.sql.classic.ColumnNodeToExpressionConverter$;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;

/**
 * What can be checked of the RAPIDS columnar UDF without a GPU (the rapids profile builds and runs
 * this): flash_attention is built from {@link GpuFlashAttention} when it is on the class path, the
 * RAPIDS Accelerator can find the {@link RapidsUDF} inside the UDF Spark makes of it (the plugin looks
 * inside the serialisable lambda Spark wraps around a Java UDF, as done here), and its row path is the
 * row UDF's. The columnar path itself runs only on a GPU host (docs/sql.md says what was run there).
 */
class RapidsUdfTest {
  @Test
  void theUdfIsTheColumnarClass() {
    assertInstanceOf(GpuFlashAttention.class, AttentionFunctions.implementation());
  }

  @Test
  void thePluginFindsTheRapidsUdfInsideSparksUdf() throws Exception {
    Column c = AttentionFunctions.flashAttention().apply(new Column[] {functions.col("q"), functions.col("k"),
        functions.col("v"), functions.lit(null).cast("double")});
    Expression e = ColumnNodeToExpressionConverter$.MODULE$.apply(c.node());
    assertInstanceOf(ScalaUDF.class, e);
    Object function = ((ScalaUDF) e).function();
    List<Object> found = new ArrayList<>();
    if (function instanceof RapidsUDF) {
      found.add(function);
    } else { // Spark wraps a Java UDF in a serialisable lambda; its captured arguments hold the instance
      Method writeReplace = function.getClass().getDeclaredMethod("writeReplace");
      writeReplace.setAccessible(true);
      SerializedLambda lambda = (SerializedLambda) writeReplace.invoke(function);
      for (int i = 0; i < lambda.getCapturedArgCount(); i++) {
        if (lambda.getCapturedArg(i) instanceof RapidsUDF) {
          found.add(lambda.getCapturedArg(i));
        }
      }
    }
    assertEquals(1, found.size(), "RapidsUDF instances reachable from " + function.getClass());
    assertInstanceOf(GpuFlashAttention.class, found.get(0));
  }

  @Test
  void theRowPathIsTheRowUdfs() {
    scala.collection.Seq<Object> q = seq(1f, 0f);
    scala.collection.Seq<scala.collection.Seq<Object>> k = seq(seq(1f, 0f), seq(0f, 1f));
    scala.collection.Seq<scala.collection.Seq<Object>> v = seq(seq(2f, 0f), seq(0f, 2f));
    Row a = new GpuFlashAttention().call(q, k, v, 1.0);
    Row b = AttentionFunctions.attend(q, k, v, 1.0);
    assertEquals(b.getDouble(1), a.getDouble(1));
    float[] o = (float[]) a.get(0);
    org.junit.jupiter.api.Assertions.assertArrayEquals((float[]) b.get(0), o);
    // softmax([1, 0]) . V: o = 2 e/(1+e), 2/(1+e); lse = ln(e + 1)
    assertEquals(2 * Math.E / (1 + Math.E), o[0], 1e-6);
    assertTrue(Math.abs(a.getDouble(1) - Math.log(Math.E + 1)) < 1e-12);
  }

  @SafeVarargs
  private static <T> scala.collection.Seq<T> seq(T... xs) {
    return scala.jdk.javaapi.CollectionConverters.asScala(List.of(xs)).toSeq();
  }
}
