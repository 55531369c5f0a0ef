#!/usr/bin/env python3
"""compare_sql.py INPUT A B [SAMPLE]: two outputs of `flashspark sql ... SELECT id, flash_attention(q, keys,
values) AS r FROM t` over INPUT (sql_input.py's table): the same null rows, o within one float ulp and lse
within 1e-12 (relative) of each other, and SAMPLE (200) rows of each against a float64 reference computed
here with numpy. Exit 1 on any difference beyond those bounds."""
import sys

import numpy as np
import pyarrow.dataset as ds


def load(path):
    t = ds.dataset(path, format="parquet").to_table().sort_by("id")
    r = t.column("r").combine_chunks()
    valid = np.asarray(r.is_valid())
    o = r.field("o")
    lse = np.asarray(r.field("lse").to_numpy(zero_copy_only=False))
    return t.column("id").to_numpy(), valid, o, lse


inp, a_path, b_path = sys.argv[1:4]
sample = int(sys.argv[4]) if len(sys.argv) > 4 else 200
ida, va, oa, la = load(a_path)
idb, vb, ob, lb = load(b_path)
ok = True
if not (np.array_equal(ida, idb) and np.array_equal(va, vb)):
    print(f"DIFFERENT rows or null rows: {len(ida)} vs {len(idb)} rows, {(~va).sum()} vs {(~vb).sum()} null")
    ok = False
fa = np.asarray(oa.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
fb = np.asarray(ob.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
oa_off = np.asarray(oa.offsets)
mask = np.repeat(va, np.diff(oa_off)) if len(fa) == len(fb) else None
if mask is None:
    print("DIFFERENT o lengths")
    ok = False
else:
    diff = np.abs(fa[mask].astype(np.float64) - fb[mask])
    ulp = np.spacing(np.abs(fa[mask]))
    worst_ulps = float(np.max(diff / ulp)) if diff.size else 0.0
    dl = np.abs(la[va] - lb[va]) / np.maximum(1, np.abs(la[va]))
    print(f"{va.sum()} rows compared ({(~va).sum()} null in both): max |o_a - o_b| {diff.max():.3g}"
          f" ({worst_ulps:.2f} ulp), rows bit-identical in o {np.mean(diff == 0) * 100:.1f}% of values;"
          f" max rel |lse_a - lse_b| {dl.max():.3g}")
    ok &= worst_ulps <= 1.0 and dl.max() <= 1e-12
# float64 reference on sampled rows
t = ds.dataset(inp, format="parquet").to_table().sort_by("id")
rng = np.random.default_rng(0)
rows = rng.choice(np.nonzero(va)[0], size=min(sample, int(va.sum())), replace=False)
worst = [0.0, 0.0, 0.0, 0.0]
for i in rows:
    q = np.array(t.column("q")[int(i)].as_py(), dtype=np.float64)
    k = np.array(t.column("keys")[int(i)].as_py(), dtype=np.float64)
    v = np.array(t.column("values")[int(i)].as_py(), dtype=np.float64)
    s = k @ q / np.sqrt(len(q))
    mx = s.max()
    p = np.exp(s - mx)
    ref_o = p @ v / p.sum()
    ref_lse = mx + np.log(p.sum())
    for j, (o, lse) in enumerate(((oa, la), (ob, lb))):
        got = np.array(o[int(i)].as_py(), dtype=np.float64)
        worst[2 * j] = max(worst[2 * j], float(np.max(np.abs(got - ref_o))))
        worst[2 * j + 1] = max(worst[2 * j + 1], abs(lse[i] - ref_lse))
print(f"float64 reference on {len(rows)} sampled rows: A max |o - ref| {worst[0]:.3g}, |lse - ref| {worst[1]:.3g};"
      f" B max |o - ref| {worst[2]:.3g}, |lse - ref| {worst[3]:.3g}")
ok &= max(worst[0], worst[2]) < 1e-5 and max(worst[1], worst[3]) < 1e-9
print("SAME within bounds" if ok else "DIFFERENT")
sys.exit(0 if ok else 1)
