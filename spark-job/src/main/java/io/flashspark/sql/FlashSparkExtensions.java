package io.flashspark.sql;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.apache.spark.sql.classic.ColumnNodeToExpressionConverter$;
import org.apache.spark.sql.classic.ExpressionUtils;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import scala.Tuple3;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * Registers flashspark's SQL functions ({@link AttentionFunctions}) the Spark way:
 * {@code spark.sql.extensions=io.flashspark.sql.FlashSparkExtensions} (a session setting:
 * {@code spark-submit --conf}, Zeppelin's {@code %spark.conf}, or the builder). For a session
 * already running without it, {@link #register} registers the same functions in its registry.
 */
public final class FlashSparkExtensions extends AbstractFunction1<SparkSessionExtensions, BoxedUnit>
    implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  @Override public BoxedUnit apply(SparkSessionExtensions extensions) {
    for (Function f : functions()) {
      extensions.injectFunction(new Tuple3<>(FunctionIdentifier.apply(f.name), f.info(), f.builder()));
    }
    return BoxedUnit.UNIT;
  }

  /** Registers both functions in a running session, exactly as the extension does in a new one. */
  public static void register(SparkSession spark) {
    org.apache.spark.sql.catalyst.analysis.FunctionRegistry registry =
        ((org.apache.spark.sql.classic.SparkSession) spark).sessionState().functionRegistry();
    for (Function f : functions()) {
      registry.registerFunction(FunctionIdentifier.apply(f.name), f.info(), f.builder());
    }
  }

  /** One SQL function: its UDF, arity and usage line. */
  private record Function(String name, UserDefinedFunction udf, int minArgs, int maxArgs, String usage) {
    ExpressionInfo info() {
      return new ExpressionInfo(FlashSparkExtensions.class.getName(), null, name, usage, "");
    }

    scala.Function1<Seq<Expression>, Expression> builder() {
      return FlashSparkExtensions.builder(name, udf, minArgs, maxArgs);
    }
  }

  private static List<Function> functions() {
    return List.of(
        new Function(AttentionFunctions.ATTENTION, AttentionFunctions.flashAttention(), 3, 4,
            "_FUNC_(q, keys, values [, scale]) - exact attention of the query vector q over arrays of key and value"
                + " vectors; struct<o: array<float>, lse: double>"),
        new Function(AttentionFunctions.MERGE, AttentionFunctions.attentionMerge(), 2, 2,
            "_FUNC_(o, lse) - aggregate: combines partial attention results by the online-softmax rule;"
                + " struct<o: array<float>, lse: double>"));
  }

  private static scala.Function1<Seq<Expression>, Expression> builder(String name, UserDefinedFunction udf,
      int minArgs, int maxArgs) {
    int arity = maxArgs;
    scala.Function1<Seq<Expression>, Expression> builder = children -> {
      List<Expression> args = new ArrayList<>(CollectionConverters.asJava(children));
      if (args.size() < minArgs || args.size() > maxArgs) {
        throw new IllegalArgumentException(name + " takes " + (minArgs == maxArgs ? "" + minArgs
            : minArgs + " or " + maxArgs) + " arguments, got " + args.size());
      }
      List<Column> columns = new ArrayList<>();
      for (Expression e : args) {
        columns.add(ExpressionUtils.column(e));
      }
      while (columns.size() < arity) { // an optional argument left out: NULL, its default
        columns.add(functions.lit(null).cast("double"));
      }
      // the UDF's column node turned into its Catalyst expression (ScalaUDF / ScalaAggregator)
      return ColumnNodeToExpressionConverter$.MODULE$.apply(udf.apply(columns.toArray(new Column[0])).node());
    };
    return builder;
  }
}
