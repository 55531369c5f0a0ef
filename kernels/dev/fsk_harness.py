#!/usr/bin/env python3
"""flashspark kernel harness: correctness checks, timings vs PyTorch SDPA peers, sanitizer driver.

  python3 fsk_harness.py check  --lib DIR            # DIR holds flashspark.fatbin + kernels.properties
  python3 fsk_harness.py bench  --lib DIR [--lib DIR2 ...] [--quick]
  python3 fsk_harness.py sanitize --lib DIR          # tiny launches, cupy only (run under compute-sanitizer)

Kernels are loaded with cupy.RawModule(path=fatbin) and launched with raw device pointers, exactly as
the Java side does through cuModuleLoad + cuLaunchKernel. Everything runs on the legacy default stream.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import cupy as cp

LOG2E = 1.4426950408889634


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------
class Lib:
    def __init__(self, d):
        self.dir = d
        self.mod = cp.RawModule(path=os.path.join(d, "flashspark.fatbin"))
        self.props = {}
        for line in open(os.path.join(d, "kernels.properties")):
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                self.props[k] = v
        self._f = {}

    def get(self, name):
        if name not in self._f:
            f = self.mod.get_function(name)
            smem = int(self.props.get(name + ".smem_bytes", 0))
            if smem > 48 * 1024:
                f.max_dynamic_shared_size_bytes = smem
            self._f[name] = (f, int(self.props[name + ".threads"]), smem, int(self.props.get(name + ".block_m", 0)))
        return self._f[name]

    def grid(self, name, num_tiles, max_grid=None):
        """CTAs of a launch, as GpuDevice.grid: one per tile, or for a persistent kernel at most the
        resident CTAs (SMs x occupancy); max_grid caps it further (checks: every CTA walks several tiles)."""
        if self.props.get(name + ".persistent", "0") != "1":
            return num_tiles
        f, thr, smem, _ = self.get(name)
        sms = cp.cuda.runtime.getDeviceProperties(cp.cuda.runtime.getDevice())["multiProcessorCount"]
        try:
            occ = cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(f.kernel.ptr, thr, smem)
        except AttributeError:  # a cupy without RawKernel.kernel: these kernels fit one CTA per SM
            occ = 1
        g = min(num_tiles, sms * max(1, occ))
        return min(g, max_grid) if max_grid else g


def P(t):
    return np.uint64(t.data_ptr())


def fwd_name(dt, d, causal):
    return f"flashspark_fwd_{dt}_d{d}" + ("_causal" if causal else "")


def make_tiles(segs, bm, causal):
    """segs: list of (q_row0, q_len, k_row0, k_len, q_pos0, k_pos0). Heaviest-first when causal."""
    tiles = []
    for si, (qr0, ql, kr0, kl, qp0, kp0) in enumerate(segs):
        for r in range(0, ql, bm):
            if causal:
                last = qp0 + min(r + bm, ql) - 1 - kp0 + 1
                work = max(0, min(kl, last))
            else:
                work = kl
            tiles.append((work, si, r))
    if causal:
        tiles.sort(key=lambda x: -x[0])
    return [(s, r) for _, s, r in tiles]


def key_limits(segs):
    """Per query row: index within its segment of the last key at a position <= the row's (-1: none)."""
    rows = max([s[0] + s[1] for s in segs] + [1])
    out = np.full(rows, -1, dtype=np.int32)
    for qr0, ql, kr0, kl, qp0, kp0 in segs:
        i = np.arange(ql, dtype=np.int64)
        out[qr0:qr0 + ql] = np.clip(qp0 + i - kp0, -1, kl - 1).astype(np.int32)
    return out


class FwdLaunch:
    """Prepared launch (device arrays for segments/tiles) so timing excludes host work."""

    def __init__(self, torch, lib, dt, d, causal, segs, scale, max_grid=None):
        self.torch = torch
        self.f, self.threads, self.smem, self.bm = lib.get(fwd_name(dt, d, causal))
        tl = make_tiles(segs, self.bm, causal)
        self.num_tiles = len(tl)
        self.grid = lib.grid(fwd_name(dt, d, causal), self.num_tiles, max_grid) if tl else 0
        self.seg_t = torch.tensor(np.array(segs, dtype=np.int64).reshape(-1), device="cuda")
        self.tile_t = torch.tensor(np.array(tl, dtype=np.int32).reshape(-1) if tl else np.zeros(2, np.int32),
                                   device="cuda")
        self.klim_t = torch.tensor(key_limits(segs), device="cuda")
        self.scale = np.float32(scale)

    def __call__(self, q, k, v, o, m, l):
        if self.num_tiles == 0:
            return
        self.f((self.grid,), (self.threads,),
               (P(q), P(k), P(v), P(o), P(m), P(l), P(self.seg_t), P(self.klim_t), P(self.tile_t),
                np.int32(self.num_tiles),
                self.scale), shared_mem=self.smem)


# --------------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------------
def ref_segment(torch, q, k, v, seg, causal, scale, lowp):
    qr0, ql, kr0, kl, qp0, kp0 = seg
    d = q.shape[1]
    qs, ks, vs = q[qr0:qr0 + ql], k[kr0:kr0 + kl], v[kr0:kr0 + kl]
    if kl == 0:
        vis = torch.zeros(ql, 0, dtype=torch.bool, device="cuda")
    elif causal:
        qpos = torch.arange(ql, device="cuda", dtype=torch.int64) + qp0
        kpos = torch.arange(kl, device="cuda", dtype=torch.int64) + kp0
        vis = kpos[None, :] <= qpos[:, None]
    else:
        vis = torch.ones(ql, kl, dtype=torch.bool, device="cuda")
    empty = ~vis.any(dim=1)
    if lowp:  # naive attention in the input precision (torch math on bf16/fp16 tensors)
        s = (qs @ ks.T) * torch.tensor(scale, dtype=qs.dtype)
        s = s.masked_fill(~vis, float("-inf"))
        p = torch.softmax(s, dim=-1)
        o = (p @ vs).float()
        o[empty] = 0
        return o, None, None, empty
    s = (qs.double() @ ks.double().T) * scale
    s = s.masked_fill(~vis, float("-inf"))
    m = s.max(dim=1).values if kl > 0 else torch.full((ql,), float("-inf"), dtype=torch.float64, device="cuda")
    msafe = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    e = torch.exp(s - msafe[:, None])
    l = e.sum(dim=1)
    o = (e @ vs.double()) / torch.where(l > 0, l, torch.ones_like(l))[:, None]
    o[empty] = 0
    return o, m, l, empty


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------
def layout(seg_specs, gap=3):
    """seg_specs: list of (q_len, k_len, q_pos0, k_pos0) -> segs with row offsets (with poison gaps)."""
    segs, qr, kr = [], gap, gap
    for ql, kl, qp, kp in seg_specs:
        segs.append((qr, ql, kr, kl, qp, kp))
        qr += ql + gap
        kr += kl + gap
    return segs, qr, kr


CASES = [
    # name, [(q_len, k_len, q_pos0, k_pos0)]
    ("N1", [(1, 1, 0, 0)]),
    ("N97_M1025_suffix", [(97, 1025, 928, 0)]),
    ("N1025", [(1025, 1025, 0, 0)]),
    ("N4097", [(4097, 4097, 0, 0)]),
    ("multi", [(97, 1025, 928, 0),                 # decode-like suffix queries
               (300, 200, 0, 500),                  # KV wholly after queries -> causal: all rows empty
               (130, 0, 0, 0),                      # no keys at all -> empty rows
               (1025, 97, 0, -50),                  # KV before queries
               (129, 129, 5, 0),                    # overlap with offset
               (257, 513, (1 << 40) + 100, (1 << 40)),  # large int64 positions
               (1, 4097, 4096, 0),
               (200, 300, 0, 37)]),                 # first rows see no key (causal), later rows do
]


def check_fwd(torch, lib, results, max_grid=None):
    """max_grid: cap on a persistent kernel's CTAs, so that each one walks several work tiles."""
    ok_all = True
    for dt, tdt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        for d in (64, 128):
            for causal in (False, True):
                name = fwd_name(dt, d, causal)
                for cname, specs in CASES:
                    segs, nq, nk = layout(specs)
                    scale = 1.0 / math.sqrt(d)
                    q = torch.randn(nq, d, device="cuda").to(tdt)
                    k = torch.randn(nk, d, device="cuda").to(tdt)
                    v = torch.randn(nk, d, device="cuda").to(tdt)
                    o = torch.full((nq, d), float("nan"), device="cuda")
                    m = torch.full((nq,), float("nan"), device="cuda")
                    l = torch.full((nq,), float("nan"), device="cuda")
                    FwdLaunch(torch, lib, dt, d, causal, segs, scale, max_grid)(q, k, v, o, m, l)
                    torch.cuda.synchronize()
                    covered = torch.zeros(nq, dtype=torch.bool, device="cuda")
                    err, nerr, merr, lerr = 0.0, 0.0, 0.0, 0.0
                    bad = []
                    for seg in segs:
                        qr0, ql = seg[0], seg[1]
                        covered[qr0:qr0 + ql] = True
                        ro, rm, rl, empty = ref_segment(torch, q, k, v, seg, causal, scale, False)
                        no, _, _, _ = ref_segment(torch, q, k, v, seg, causal, scale, True)
                        oo, mm, ll = o[qr0:qr0 + ql].double(), m[qr0:qr0 + ql].double(), l[qr0:qr0 + ql].double()
                        if torch.isnan(oo).any() or torch.isnan(mm).any() or torch.isnan(ll).any():
                            bad.append("NaN/unwritten")
                        if empty.any():
                            if not (torch.all(mm[empty] == float("-inf")) and torch.all(ll[empty] == 0)
                                    and torch.all(oo[empty] == 0)):
                                bad.append("empty-row")
                        ne = ~empty
                        if ne.any():
                            err = max(err, (oo[ne] - ro[ne]).abs().max().item())
                            nerr = max(nerr, (no[ne].double() - ro[ne]).abs().max().item())
                            merr = max(merr, ((mm[ne] - rm[ne]).abs() / rm[ne].abs().clamp(min=1)).max().item())
                            lerr = max(lerr, ((ll[ne] - rl[ne]).abs() / rl[ne]).max().item())
                    if not torch.isnan(o[~covered]).all() or not torch.isnan(m[~covered]).all() \
                            or not torch.isnan(l[~covered]).all():
                        bad.append("wrote-outside-segments")
                    bound = 2 * nerr + 1e-5
                    if err > bound:
                        bad.append("o-error")
                    if merr > 1e-4:
                        bad.append("m-error")
                    if lerr > 1e-3:
                        bad.append("l-error")
                    ok = not bad
                    ok_all &= ok
                    line = (f"{name:34s} {cname:18s} o_err {err:.3e} bound {bound:.3e} (naive {nerr:.3e}) "
                            f"m_rel {merr:.1e} l_rel {lerr:.1e} {'PASS' if ok else 'FAIL ' + ','.join(bad)}")
                    print(line, flush=True)
                    results.append(line)
    return ok_all


def check_convert(torch, lib, results):
    ok_all = True
    for name, tdt in (("flashspark_f32_to_bf16", torch.bfloat16), ("flashspark_f32_to_fp16", torch.float16)):
        f, thr, _, _ = lib.get(name)
        for n, off in ((1, 0), (7, 0), (8, 0), (1000003, 0), (1000, 1), (4096 * 1024 + 5, 0)):
            x = torch.randn(n + off + 8, device="cuda") * torch.exp(torch.randn(n + off + 8, device="cuda") * 8)
            specials = torch.tensor([float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1e-45, 3.4e38, 65519.0,
                                     65520.0, 1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, 1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11,
                                     5.96e-8, 2.98e-8], device="cuda")
            ns = min(len(specials), n)
            x[off:off + ns] = specials[:ns]
            xin = x[off:off + n]
            out = torch.full((n + 8,), -1, dtype=torch.int16, device="cuda")
            outv = out[off:off + n] if off else out[:n]
            grid = max(1, min((n + 2047) // 2048, 65535))
            f((grid,), (thr,), (P(xin), P(outv), np.int64(n)))
            torch.cuda.synchronize()
            ref = xin.to(tdt).view(torch.int16)
            got = outv
            same = (got == ref) | (torch.isnan(got.view(tdt)) & torch.isnan(ref.view(tdt)))
            untouched = bool((out[n + off:] == -1).all()) and (off == 0 or bool((out[:off] == -1).all()))
            ok = bool(same.all()) and untouched
            ok_all &= ok
            line = f"{name} n={n} offset={off}: mismatches {int((~same).sum())} {'PASS' if ok else 'FAIL'}"
            print(line, flush=True)
            results.append(line)
    return ok_all


# --------------------------------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------------------------------
_L2_FLUSH = []


def flush_l2(torch):
    """Overwrites a buffer larger than any L2 (H100 50 MB, H200 60 MB) so no repetition finds the
    previous one's K/V in L2; the write runs between the timing events, so it is not timed."""
    if not _L2_FLUSH:
        _L2_FLUSH.append(torch.empty(256 << 20, dtype=torch.uint8, device="cuda"))
    _L2_FLUSH[0].zero_()


def time_fn(torch, fn, nsets, min_reps=5, target_s=0.25):
    """Median time of fn over repetitions (CUDA events), L2 flushed before each; nsets input sets
    rotate as well (fn(i % nsets))."""
    for i in range(2):
        fn(i % nsets)
    torch.cuda.synchronize()
    st, en = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    st.record()
    fn(0)
    en.record()
    torch.cuda.synchronize()
    one = max(st.elapsed_time(en), 1e-3)
    reps = int(max(min_reps, min(200, target_s * 1e3 / one)))
    evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for i, (a, b) in enumerate(evs):
        flush_l2(torch)
        a.record()
        fn(i % nsets)
        b.record()
    torch.cuda.synchronize()
    ts = sorted(a.elapsed_time(b) for a, b in evs)
    return ts[len(ts) // 2]


def bench(torch, libs, quick, results):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    import torch.nn.functional as F
    Ns = (1024, 4096, 16384, 65536) if not quick else (4096, 16384)
    hdr = (f"{'dt':4s} {'d':>3s} {'N':>6s} {'causal':6s} {'BH':>4s} " +
           " ".join(f"{'ours' + str(i):>7s}" for i in range(len(libs))) +
           f" {'flash':>7s} {'cudnn':>7s} {'x_flash':>7s} {'x_cudnn':>7s}   (TFLOP/s)")
    print(hdr, flush=True)
    results.append(hdr)
    for dt, tdt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        for d in (64, 128):
            if quick and d == 64 and dt == "fp16":
                continue
            for N in Ns:
                for causal in (False, True):
                    BH = max(1, 131072 // N)
                    tokens = BH * N
                    nsets = 1 if tokens * d * 2 * 3 > 200e6 else 3
                    sets = [tuple(torch.randn(1, BH, N, d, device="cuda", dtype=tdt) for _ in range(3))
                            for _ in range(nsets)]
                    o = torch.empty(tokens, d, device="cuda")
                    m = torch.empty(tokens, device="cuda")
                    l = torch.empty(tokens, device="cuda")
                    segs = [(b * N, N, b * N, N, 0, 0) for b in range(BH)]
                    flops = 4.0 * N * N * d * BH * (0.5 if causal else 1.0)
                    row = []
                    for lib in libs:
                        try:
                            fl = FwdLaunch(torch, lib, dt, d, causal, segs, 1 / math.sqrt(d))

                            def f_ours(i, fl=fl):
                                qq, kk, vv = sets[i]
                                fl(qq, kk, vv, o, m, l)

                            t = time_fn(torch, f_ours, nsets)
                            row.append(flops / t / 1e9)
                        except Exception as e:  # noqa
                            print("ours failed:", e)
                            row.append(float("nan"))
                    peers = []
                    for be in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
                        try:
                            def f_peer(i, be=be):
                                qq, kk, vv = sets[i]
                                with sdpa_kernel(be):
                                    F.scaled_dot_product_attention(qq, kk, vv, is_causal=causal)

                            t = time_fn(torch, f_peer, nsets)
                            peers.append(flops / t / 1e9)
                        except Exception as e:  # noqa
                            print("peer failed:", be, str(e)[:200])
                            peers.append(float("nan"))
                    best = max(row)
                    line = (f"{dt:4s} {d:3d} {N:6d} {str(causal):6s} {BH:4d} " + " ".join(f"{x:7.1f}" for x in row) +
                            f" {peers[0]:7.1f} {peers[1]:7.1f} {best / peers[0]:7.2f} {best / peers[1]:7.2f}")
                    print(line, flush=True)
                    results.append(line)
                    del sets
                    torch.cuda.empty_cache()
    lib = libs[0]
    f, thr, _, _ = lib.get("flashspark_f32_to_bf16")
    n = 1 << 28
    x = torch.randn(n, device="cuda")
    y = torch.empty(n, dtype=torch.int16, device="cuda")
    grid = min((n + 2047) // 2048, 65535)
    t = time_fn(torch, lambda i: f((grid,), (thr,), (P(x), P(y), np.int64(n))), 1)
    line = f"convert f32->bf16 n=2^28: {n * 6 / t / 1e6:.0f} GB/s"
    print(line, flush=True)
    results.append(line)


# --------------------------------------------------------------------------------------------------
# Sanitizer mode (cupy only; tiny launches)
# --------------------------------------------------------------------------------------------------
class CpT:
    """Minimal tensor shim so FwdLaunch can be used without torch."""


def sanitize(lib):
    rng = cp.random.default_rng(1)
    for dt in ("bf16", "fp16"):
        conv = lib.get("flashspark_f32_to_" + dt)
        for d in (64, 128):
            for causal in (False, True):
                f, thr, smem, bm = lib.get(fwd_name(dt, d, causal))
                specs = [(97, 130, 40, 0), (5, 0, 0, 0), (40, 20, 0, 100), (130, 61, 0, 0)]
                segs, nq, nk = layout(specs)
                def mk(n):
                    x = rng.standard_normal(n * d, dtype=cp.float32)
                    y = cp.empty(n * d, dtype=cp.uint16)
                    conv[0]((max(1, (n * d + 2047) // 2048),), (conv[1],), (x, y, np.int64(n * d)))
                    return y
                q, k, v = mk(nq), mk(nk), mk(nk)
                o = cp.full(nq * d, cp.nan, dtype=cp.float32)
                m = cp.full(nq, cp.nan, dtype=cp.float32)
                l = cp.full(nq, cp.nan, dtype=cp.float32)
                tl = make_tiles(segs, bm, causal)
                segt = cp.asarray(np.array(segs, dtype=np.int64).reshape(-1))
                tilt = cp.asarray(np.array(tl, dtype=np.int32).reshape(-1))
                klim = cp.asarray(key_limits(segs))
                grid = lib.grid(fwd_name(dt, d, causal), len(tl), 2)  # persistent: both CTAs walk tiles
                f((grid,), (thr,), (q, k, v, o, m, l, segt, klim, tilt, np.int32(len(tl)), np.float32(d ** -0.5)),
                  shared_mem=smem)
                cp.cuda.runtime.deviceSynchronize()
                print("sanitize ran", fwd_name(dt, d, causal), "nan left in o:", int(cp.isnan(o).sum()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "bench", "all", "sanitize"])
    ap.add_argument("--lib", action="append", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    libs = [Lib(d) for d in a.lib]
    if a.mode == "sanitize":
        sanitize(libs[0])
        return 0
    import torch
    torch.manual_seed(0)
    print("device:", torch.cuda.get_device_name(), "torch", torch.__version__, "date", time.strftime("%Y-%m-%d %H:%M"))
    results = []
    ok = True
    good = libs
    if a.mode in ("check", "all"):
        good = []
        for i, lib in enumerate(libs):
            print(f"== checks for lib {i}: {lib.dir}", flush=True)
            r = check_fwd(torch, lib, results)
            if any(v == "1" for k, v in lib.props.items() if k.endswith(".persistent")):
                print("-- again with 3 CTAs, each walking many work tiles", flush=True)
                r &= check_fwd(torch, lib, results, max_grid=3)
            r &= check_convert(torch, lib, results)
            line = f"CHECKS lib {i} ({lib.dir}): {'PASS' if r else 'FAIL'}"
            print(line, flush=True)
            results.append(line)
            ok &= r
            if r:
                good.append(lib)
    if a.mode in ("bench", "all"):
        if not good:
            print("not timing: checks failed")
        else:
            print("timing libs:", [l.dir for l in good])
            bench(torch, good, a.quick, results)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write("\n".join(results) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
