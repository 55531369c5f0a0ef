package io.flashspark.job;

import java.io.Serializable;

/**
 * One cell of the block grid: Q shard {@code qShard} against KV shard {@code kvShard} of one
 * (document, head); {@code id} numbers the cells of the whole job 0..cells-1 for the partitioner.
 */
public record CellKey(DocHead docHead, int qShard, int kvShard, long id) implements Serializable {}
