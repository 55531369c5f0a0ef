package io.flashspark.job;

import io.flashspark.attention.Partial;
import java.io.Serializable;

/** A partial of one Q block, with the block's positions so the merged result can be written. */
public record BlockPartial(long[] pos, Partial partial) implements Serializable {
  /** Merges {@code other} into this one (in place) and returns this: the reduce function. */
  public BlockPartial mergeFrom(BlockPartial other) {
    partial.mergeFrom(other.partial);
    return this;
  }
}
