/*
 * flashspark FlashAttention forward, sm_80 / sm_90a.  Kernels flashspark_fwd_{bf16,fp16}_d{64,128}[_causal].
 *
 * LAUNCH CONTRACT: work tiles of BLOCK_M = 128 query rows of one segment, listed in tiles[]. On compute
 * capability 9.x (the sm_90a cubin) blockDim.x = threads (384) and dynamic shared memory = smem_bytes
 * (d64 82944 B, d128 164864 B) from kernels.properties, and any gridDim.x up to num_tiles: CTA b takes
 * one tile per round of gridDim.x tiles, rounds walked forward and backward in turn (persistent=1: one
 * wave of resident CTAs). Elsewhere threads_fallback (256), smem_bytes_fallback and gridDim.x = num_tiles,
 * tile tiles[blockIdx.x] (persistent_fallback=0). A segment is 6 int64
 * {q_row0, q_len, k_row0, k_len, reserved, reserved}; causal masking reads key_limit[q_row] (int32 per
 * query row: index within its segment of the last key at a position <= the row's, -1 if none), which
 * the host derives from the rows' positions: sparse positions cost no extra segments. Keys of a
 * segment must be sorted by position and queries too (limits non-decreasing).
 *
 * TILING
 *   sm_90a cubin (H100/H200), fwd_sm90.cuh: warp specialised, three warpgroups. One loads (cp.async
 *     into the swizzled tiles, arrivals on mbarriers as the copies land); two compute 64 query rows
 *     each on the tensor cores via wgmma, taking turns (named barriers) so one's softmax runs under
 *     the other's GEMMs, and each overlapping tile j's softmax with its own P_{j-1} V_{j-1}:
 *     S = Q K^T   wgmma m64n{BLOCK_N}k16, A = Q and B = K from shared-memory descriptors (K-major);
 *     O += P V    wgmma m64n{D}k16, A = P from registers (fp32 S -> bf16/fp16 in registers, never
 *                 through shared memory), B = V from a descriptor (MN-major / transposed).
 *     BLOCK_N 128 for d64 and d128, K and V two stages each, no CTA-wide barrier in the loop; the
 *     K/V pipeline and a Q-empty barrier run on across a CTA's work tiles, so the next tile's loads
 *     start under this tile's last GEMM and stores.
 *   sm_80 cubin and compute_90 PTX (A100, JIT elsewhere), fwd_sm80.cuh: mma.sync m16n8k16 + ldmatrix,
 *     8 warps x 16 query rows, Q fragments in registers, BLOCK_N 64, K/V double buffered.
 *   Both paths: cp.async 16-byte loads, online softmax in fp32 registers, O in fp32 registers. Causal
 *   variants stop at the last KV tile visible to the tile's last query row (invisible tiles are never
 *   loaded); only the tiles straddling the diagonal or the ragged key tail run the element-wise mask.
 *
 * SHARED MEMORY (16-bit elements, every 16-byte chunk XOR-swizzled by (row & 7): the canonical
 *   128-byte-swizzle wgmma layout [D/64][rows][64] on sm_90a, [rows][D] for ldmatrix on sm_80; no bank
 *   conflicts for cp.async stores, ldmatrix or wgmma reads)
 *   sm_90a d128: Q 32 KiB + K 2x32 KiB + V 2x32 KiB (+1 KiB alignment slack) = 161 KiB, 1 CTA/SM;
 *          d64:  Q 16 KiB + K 2x16 KiB + V 2x16 KiB (+1 KiB) = 81 KiB, 1 CTA/SM (registers).
 *   sm_80  d128: Q 32 KiB + K/V 2x2x16 KiB = 96 KiB; d64: 48 KiB.
 *
 * HBM TRAFFIC (per segment of Nq queries and Nk keys, e = 2 bytes)
 *   Q read once (Nq*D*e); K and V read once per query tile: 2*ceil(Nq/128)*Nk*D*e (about half of that
 *   when causal), mostly served by L2 since the tiles of one segment run concurrently; O written once
 *   in fp32 (Nq*D*4) plus m and l (8 bytes per row). No N x M buffer exists anywhere.
 *
 * NUMERICAL CONTRACT
 *   Inputs bf16 or fp16; Q.K products accumulated in fp32 by the tensor cores; softmax in fp32 with
 *   exp2 (ex2.approx) and scale*log2(e) folded into one FFMA; the running row max is kept in raw score
 *   units, so scale must be > 0. P is rounded to the input type for the P.V product (as FlashAttention
 *   2/3 do), O accumulated in fp32, the row sum l accumulated from the unrounded fp32 P values.
 *   Outputs: o = sum_j p_j v_j / l (fp32), m = max_j scale*q.k_j (natural-log units),
 *   l = sum_j exp(scale*q.k_j - m). A row that sees no key writes m = -inf, l = 0, o = 0 (never NaN).
 *   Keys beyond k_len and queries beyond q_len are zero-filled in shared memory and masked (-inf), never
 *   read from or written to global memory. All global offsets are 64-bit.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "fsk_config.h"   // tile sizes and launch constants, defined once
#include "fsk_device.cuh" // PTX wrappers: cp.async, ldmatrix, mma.sync, packing, exp2
#include "fsk_sm90.cuh"   // sm_90a PTX wrappers: wgmma, mbarriers, named barriers, setmaxnreg
#include "fwd_sm80.cuh"   // mma.sync main loop (sm_80 cubin, compute_90 PTX)
#include "fwd_sm90.cuh"   // warp-specialised wgmma main loop (sm_90a cubin)


// ---------------------------------------------------------------------------------------------
// Exported kernels (ABI: see kernels.properties and docs/kernels.md)
// ---------------------------------------------------------------------------------------------
#define FSK_FWD_ARGS                                                                                      \
  const void *q, const void *k, const void *v, float *o, float *m, float *l, const long long *segments, \
      const int *key_limit, const int *tiles, int num_tiles, float scale
#define FSK_FWD_PASS                                                                                      \
  static_cast<const uint16_t*>(q), static_cast<const uint16_t*>(k), static_cast<const uint16_t*>(v), o, m, \
      l, segments, key_limit, tiles, num_tiles, scale

// Tuning and launch constants: fsk_config.h (also read by gen_properties.py for kernels.properties).

// mma.sync fallback (sm_80, PTX JIT on other GPUs): 8 warps x 16 rows, Q in registers, BLOCK_N 64.
#define FSK_MMA_CFG(D) D, FSK_MMA_BN, 8, 1, true

#if defined(FSK_HAS_WGMMA) && FSK_USE_WGMMA
#define FSK_BODY(D, CAUSAL, BF16) \
  fsk::fwd_ws<D, ((D) == 64 ? FSK_WS_BN64 : FSK_WS_BN128), CAUSAL, BF16>(FSK_FWD_PASS)
#define FSK_KERNEL_THREADS FSK_WS_THREADS
#else
// (the guard keeps extra warps out of the mma.sync loop, should it be launched with the sm_90a
// thread count; the Java side launches it with threads_fallback = 256)
#define FSK_BODY(D, CAUSAL, BF16)                                  \
  if (threadIdx.x >= 256) return;                                  \
  fsk::fwd_body<FSK_MMA_CFG(D), CAUSAL, BF16>(FSK_FWD_PASS)
#define FSK_KERNEL_THREADS FSK_THREADS
#endif

#define FSK_DEF(NAME, D, CAUSAL, BF16)                                                        \
  extern "C" __global__ void __launch_bounds__(FSK_KERNEL_THREADS, 1) NAME(FSK_FWD_ARGS) { \
    FSK_BODY(D, CAUSAL, BF16);                                                               \
  }

FSK_DEF(flashspark_fwd_bf16_d64, 64, false, true)
FSK_DEF(flashspark_fwd_bf16_d64_causal, 64, true, true)
FSK_DEF(flashspark_fwd_fp16_d64, 64, false, false)
FSK_DEF(flashspark_fwd_fp16_d64_causal, 64, true, false)
FSK_DEF(flashspark_fwd_bf16_d128, 128, false, true)
FSK_DEF(flashspark_fwd_bf16_d128_causal, 128, true, true)
FSK_DEF(flashspark_fwd_fp16_d128, 128, false, false)
FSK_DEF(flashspark_fwd_fp16_d128_causal, 128, true, false)
