#!/usr/bin/env python3
"""compare_outputs.py A B [TOL]: two score outputs of the same input, row by row (pyarrow, no Java).

Used on the GPU host to show that runs on different numbers of GPUs (or different plans) give the
same answer: the same (doc_id, head, pos) keys on both sides, and per (doc, head) the largest
|o_A - o_B| and |lse_A - lse_B|, plus how many rows are bit-identical. Reads o in any output form
(array<float>, packed fp32 or bf16, little-endian). Exit 0 when keys match and every difference is
at most TOL (default 0: bit-identical), 1 otherwise. One (doc, head) at a time, so memory stays at
one head's rows.
"""
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds


def as_floats(column, rows, encoding):
    """o as a float32 matrix of `rows` rows, whichever form the output took."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return column.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(rows, -1)
    raw = np.frombuffer(b"".join(v.as_py() for v in column), dtype=np.uint8)
    if encoding == "bf16":  # the upper half of an fp32
        return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(rows, -1)
    return raw.view("<f4").reshape(rows, -1)


def encoding_of(dataset):
    """The packed o's encoding: Spark keeps the column's metadata in the Parquet footer's row schema."""
    meta = dataset.schema.metadata or {}
    spark_schema = meta.get(b"org.apache.spark.sql.parquet.row.metadata")
    if spark_schema:
        for field in json.loads(spark_schema).get("fields", []):
            if field.get("name") == "o":
                encoding = str(field.get("metadata", {}).get("flashspark.encoding", "fp32")).lower()
                return "bf16" if encoding == "bf16" else "fp32"
    return "fp32"


def groups(dataset):
    """(doc_id, head, rows) of every (doc, head) in the output, sorted."""
    t = dataset.to_table(columns=["doc_id", "head"]).group_by(["doc_id", "head"]).aggregate([([], "count_all")])
    return sorted(zip(t["doc_id"].to_pylist(), t["head"].to_pylist(), t["count_all"].to_pylist()))


def difference(x, y):
    """|x - y| in float64, equal values (infinities included) 0, and a NaN on either side infinite, so
    that it can never pass a tolerance."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        d = np.abs(x - y)
    d[x == y] = 0.0
    d[np.isnan(d)] = np.inf
    return d


def one_head(dataset, doc, head):
    table = dataset.to_table(filter=(pc.field("doc_id") == doc) & (pc.field("head") == head),
                             columns=["pos", "o", "lse"])
    order = pc.sort_indices(table, sort_keys=[("pos", "ascending")])
    return table.take(order)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    a, b = ds.dataset(sys.argv[1], format="parquet"), ds.dataset(sys.argv[2], format="parquet")
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    enc_a, enc_b = encoding_of(a), encoding_of(b)
    ka, kb = groups(a), groups(b)
    ok = ka == kb
    if not ok:
        print(f"(doc, head, rows) differ: {len(ka)} groups in A, {len(kb)} in B; first differences:",
              [x for x in ka if x not in kb][:3], [x for x in kb if x not in ka][:3])
    worst_o = worst_lse = 0.0
    identical = rows = 0
    for doc, head, count in ka:
        if (doc, head, count) not in kb:
            continue
        ta, tb = one_head(a, doc, head), one_head(b, doc, head)
        if not pc.all(pc.equal(ta["pos"], tb["pos"])).as_py():
            print(f"positions differ for doc {doc!r} head {head}")
            ok = False
            continue
        oa, ob = as_floats(ta["o"], count, enc_a), as_floats(tb["o"], count, enc_b)
        la, lb = ta["lse"].to_numpy(), tb["lse"].to_numpy()
        do = difference(oa, ob).max(axis=1, initial=0)
        dl = difference(la, lb)
        worst_o, worst_lse = max(worst_o, float(do.max(initial=0))), max(worst_lse, float(dl.max(initial=0)))
        same_bits = (oa.view(np.uint32) == ob.view(np.uint32)).all(axis=1) & (la.view(np.uint64) == lb.view(np.uint64))
        identical += int(np.count_nonzero(same_bits))
        rows += count
    ok = ok and worst_o <= tol and worst_lse <= tol
    print(f"compared {rows} rows in {len(ka)} (doc, head) groups: {identical} bit-identical; "
          f"max |o_A - o_B| = {worst_o:.3g}, max |lse_A - lse_B| = {worst_lse:.3g} (tolerance {tol:g}) "
          + ("OK" if ok else "DIFFERENT"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
