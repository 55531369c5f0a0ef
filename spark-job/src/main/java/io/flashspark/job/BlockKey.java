package io.flashspark.job;

import java.io.Serializable;

/** Block {@code index} (positions {@code [index*T, (index+1)*T)}) of one (document, head). */
public record BlockKey(DocHead docHead, long index) implements Serializable {}
