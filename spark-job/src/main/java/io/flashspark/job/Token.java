package io.flashspark.job;

import java.io.Serializable;

/**
 * One decoded input row. Vectors absent from the table's role are null; {@code problem} holds a
 * decoding problem (null value, bad packed length) found before any check of shapes.
 */
public record Token(String docId, int head, long pos, float[] q, float[] k, float[] v, String problem)
    implements Serializable {}
