#!/usr/bin/env python3
"""Launches one forward kernel a few times on random inputs, for a profiler to capture (ncu):

  ncu --launch-skip 2 --launch-count 1 -k regex:flashspark_fwd python3 profile_one.py --lib DIR [--d 128]
      [--n 16384] [--bh 8] [--dt bf16] [--causal]
"""
import argparse
import math

import torch

from fsk_harness import FwdLaunch, Lib

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True)
ap.add_argument("--d", type=int, default=128)
ap.add_argument("--n", type=int, default=16384)
ap.add_argument("--bh", type=int, default=8)
ap.add_argument("--dt", default="bf16")
ap.add_argument("--causal", action="store_true")
a = ap.parse_args()
tdt = torch.bfloat16 if a.dt == "bf16" else torch.float16
tokens = a.bh * a.n
q, k, v = (torch.randn(tokens, a.d, device="cuda").to(tdt) for _ in range(3))
o = torch.empty(tokens, a.d, device="cuda")
m = torch.empty(tokens, device="cuda")
l = torch.empty(tokens, device="cuda")
segs = [(b * a.n, a.n, b * a.n, a.n, 0, 0) for b in range(a.bh)]
fl = FwdLaunch(torch, Lib(a.lib), a.dt, a.d, a.causal, segs, 1 / math.sqrt(a.d))
for _ in range(4):
    fl(q, k, v, o, m, l)
torch.cuda.synchronize()
print("launched", a)
