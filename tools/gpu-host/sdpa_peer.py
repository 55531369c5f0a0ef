"""PyTorch scaled_dot_product_attention (flash and cuDNN backends) on the shapes KernelBench uses:
heads = 262144 / N problems of N = M tokens, bf16 and fp16, d 64/128, causal and not. Prints
TFLOP/s (4*N*M*d per head, half if causal), median of CUDA-event timings over fresh random inputs."""
import argparse
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--dims", default="64,128")
ap.add_argument("--tokens", default="1024,4096,16384,65536")
ap.add_argument("--tokens-per-launch", type=int, default=262144)
ap.add_argument("--reps", type=int, default=10)
a = ap.parse_args()

def bench(fn, reps):
    fn(); torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]

print(f"{'prec':5} {'d':>4} {'N':>7} {'causal':>6} {'heads':>5} {'flash_TF':>9} {'cudnn_TF':>9}")
for dt_name, dt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
    for d in map(int, a.dims.split(",")):
        for n in map(int, a.tokens.split(",")):
            for causal in (False, True):
                heads = max(1, a.tokens_per_launch // n)
                q, k, v = (torch.randn(1, heads, n, d, device="cuda", dtype=dt) for _ in range(3))
                flops = 4.0 * n * n * d * heads * (0.5 if causal else 1.0)
                row = []
                for be in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
                    try:
                        with sdpa_kernel(be):
                            ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), a.reps)
                        row.append(f"{flops / ms / 1e9:9.1f}")
                    except Exception as ex:  # a backend may refuse a shape
                        row.append(f"{'n/a':>9}")
                print(f"{dt_name:5} {d:4d} {n:7d} {'yes' if causal else 'no':>6} {heads:5d} {row[0]} {row[1]}", flush=True)
                del q, k, v
