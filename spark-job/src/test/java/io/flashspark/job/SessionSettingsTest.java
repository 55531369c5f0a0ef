package io.flashspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** A setting holds for the work only, and the session's own value (or its absence) comes back, also after a failure. */
class SessionSettingsTest extends SparkTestBase {
  private static final String KEY = "spark.flashspark.test.setting";

  @Test
  void theSettingHoldsDuringTheWorkAndTheSessionsValueComesBack() {
    spark.conf().set(KEY, "mine");
    assertEquals("during", SessionSettings.with(spark, KEY, "during", () -> spark.conf().get(KEY)));
    assertEquals("mine", spark.conf().get(KEY));
    assertThrows(IllegalStateException.class, () -> SessionSettings.with(spark, KEY, "during", () -> {
      throw new IllegalStateException("the work failed");
    }));
    assertEquals("mine", spark.conf().get(KEY), "restored after a failure");
    spark.conf().unset(KEY);
    assertEquals("during", SessionSettings.with(spark, KEY, "during", () -> spark.conf().get(KEY)));
    assertFalse(spark.conf().getOption(KEY).isDefined(), "unset again, as before");
  }
}
