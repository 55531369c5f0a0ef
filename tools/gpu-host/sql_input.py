#!/usr/bin/env python3
"""sql_input.py OUT ROWS KEYS DIM [--bad ROW] [--seed S]: a Parquet table for flash_attention through
`flashspark sql`: id (int64), q list<float>, keys and values list<list<float>> (KEYS vectors of DIM
standard normal values per row); every 97th row has a null q (its result is null). --bad ROW gives row
ROW's second key one value too many (the query must fail naming it)."""
import argparse

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("rows", type=int)
ap.add_argument("keys", type=int)
ap.add_argument("dim", type=int)
ap.add_argument("--bad", type=int, default=-1)
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
n, m, d = a.rows, a.keys, a.dim


def vectors(count):
    # count rows of m vectors of d floats; the bad row's second vector gets d+1 values
    lens = np.full(count * m, d, dtype=np.int64)
    if 0 <= a.bad < count:
        lens[a.bad * m + 1] = d + 1
    inner = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    values = pa.array(rng.standard_normal(int(inner[-1]), dtype=np.float32))
    outer = np.arange(0, count * m + 1, m, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(outer), pa.ListArray.from_arrays(pa.array(inner), values))


q_offsets = pa.array(np.arange(0, n * d + 1, d, dtype=np.int32))
q_null = pa.array(np.arange(n) % 97 == 5)
q = pa.ListArray.from_arrays(q_offsets, pa.array(rng.standard_normal(n * d, dtype=np.float32)), mask=q_null)
table = pa.table({"id": pa.array(np.arange(n, dtype=np.int64)), "q": q, "keys": vectors(n), "values": vectors(n)})
import os
os.makedirs(a.out, exist_ok=True)
pq.write_table(table, os.path.join(a.out, "part-00000.parquet"), row_group_size=4096)
print(f"wrote {n} rows x {m} keys x d={d} ({table.nbytes / 1e6:.0f} MB in memory) to {a.out}")
