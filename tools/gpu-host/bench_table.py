"""Joins the Java KernelBench results (--json FILE) and the sdpa_peer.py log of one GPU run into the
markdown table of docs/benchmarks.md:  python3 tools/gpu-host/bench_table.py java-bench.json sdpa-peer.log"""
import json
import sys

ours = json.load(open(sys.argv[1]))
peer = {}
for line in open(sys.argv[2]):
    p = line.split()
    if len(p) == 7 and p[0] in ("bf16", "fp16"):
        peer[tuple(p[:4])] = p
print("| prec | d | N = M | causal | heads | kernel ms | kernel TFLOP/s | SDPA flash | SDPA cuDNN | ours/flash | ours/cuDNN | whole Java call ms | max err (16 rows) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for m in ours:
    key = (m["precision"], str(m["dim"]), str(m["tokens"]), "yes" if m["causal"] else "no")
    tf = m["kernel_tflops"]
    f, c = (float(x) if x != "n/a" else float("nan") for x in peer.get(key, ["0"] * 7)[5:7])
    ratio = lambda a, b: f"{a / b:.2f}" if b > 0 else "n/a"
    print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {m['heads']} | {m['kernel_ms']:.3f} | {tf:.1f} | {f:.1f} | "
          f"{c:.1f} | {ratio(tf, f)} | {ratio(tf, c)} | {m['call_ms']:.1f} | {m['max_error']:.2e} "
          f"{'ok' if m['ok'] else 'FAIL'} |")
