"""Joins the Java KernelBench log and the sdpa_peer.py log of one GPU run into the markdown table
of docs/benchmarks.md:  python3 tools/gpu-host/bench_table.py java-bench.log sdpa-peer.log"""
import sys

ours, peer = {}, {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 11 and p[0] in ("bf16", "fp16") and p[-1] in ("ok", "FAIL"):
        ours.setdefault(tuple(p[:4]), p)
for line in open(sys.argv[2]):
    p = line.split()
    if len(p) == 7 and p[0] in ("bf16", "fp16"):
        peer[tuple(p[:4])] = p
print("| prec | d | N = M | causal | heads | kernel ms | kernel TFLOP/s | SDPA flash | SDPA cuDNN | ours/flash | ours/cuDNN | whole Java call ms | max err (16 rows) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for k, p in ours.items():
    tf = float(p[6])
    f, c = (float(x) if x != "n/a" else float("nan") for x in peer.get(k, [0] * 7)[5:7])
    print(f"| {p[0]} | {p[1]} | {p[2]} | {p[3]} | {p[4]} | {float(p[5]):.3f} | {tf:.1f} | {f:.1f} | {c:.1f} | "
          f"{tf / f:.2f} | {tf / c:.2f} | {float(p[7]):.1f} | {p[9]} {p[10]} |")
