/*
 * flashspark FlashAttention forward, sm_80 / sm_90a.  Kernels flashspark_fwd_{bf16,fp16}_d{64,128}[_causal].
 *
 * LAUNCH CONTRACT (all code paths): gridDim.x = num_tiles (one CTA per work tile of BLOCK_M = 128 query
 * rows of one segment), blockDim.x = 256, dynamic shared memory = smem_bytes from kernels.properties
 * (d64: 50176 B, d128: 197632 B). Tiles are read as tiles[blockIdx.x]. A segment is 6 int64
 * {q_row0, q_len, k_row0, k_len, reserved, reserved}; causal masking reads key_limit[q_row] (int32 per
 * query row: index within its segment of the last key at a position <= the row's, -1 if none), which
 * the host derives from the rows' positions: sparse positions cost no extra segments. Keys of a
 * segment must be sorted by position and queries too (limits non-decreasing).
 *
 * TILING
 *   sm_90a cubin (H100/H200): two warpgroups x 64 query rows. Tensor cores via wgmma:
 *     S = Q K^T   wgmma m64n{BLOCK_N}k16, A = Q and B = K from shared-memory descriptors (K-major);
 *     O += P V    wgmma m64n{D}k16, A = P from registers (fp32 S -> bf16/fp16 in registers, never
 *                 through shared memory), B = V from a descriptor (MN-major / transposed).
 *     d128 (BLOCK_N 128): "ping-pong" schedule. Warpgroup 1 runs half a KV tile behind warpgroup 0,
 *       so each warpgroup's softmax overlaps the other one's tensor-core work although both share one
 *       CTA barrier per KV tile; the next tile's cp.async loads are issued while the S GEMM runs.
 *       K double buffered, V triple buffered (V_{j-1} is still read by the lagging warpgroup).
 *     d64 (BLOCK_N 64): both warpgroups in step, K and V double buffered; ~49 KiB smem and <=128
 *       registers let 2 CTAs share an SM, which gives the same overlap.
 *   sm_80 cubin and compute_90 PTX (A100, JIT elsewhere): mma.sync m16n8k16 + ldmatrix, 8 warps x 16
 *     query rows, Q fragments in registers, BLOCK_N 64, K/V double buffered (same launch contract).
 *   Both paths: cp.async 16-byte loads, online softmax in fp32 registers, O in fp32 registers. Causal
 *   variants stop at the last KV tile visible to the tile's last query row (invisible tiles are never
 *   loaded); only the tiles straddling the diagonal or the ragged key tail run the element-wise mask.
 *
 * SHARED MEMORY (16-bit elements, every 16-byte chunk XOR-swizzled by (row & 7): the canonical
 *   128-byte-swizzle wgmma layout [D/64][rows][64] on sm_90a, [rows][D] for ldmatrix on sm_80; no bank
 *   conflicts for cp.async stores, ldmatrix or wgmma reads)
 *   d128: Q 32 KiB + K 2x32 KiB + V 3x32 KiB (+1 KiB alignment slack) = 193 KiB, 1 CTA/SM.
 *   d64:  Q 16 KiB + K 2x8 KiB + V 2x8 KiB (+1 KiB) = 49 KiB, 2 CTAs/SM.
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

#ifndef FSK_DEVICE_HELPERS
#define FSK_DEVICE_HELPERS
// Causal limit of query row I of the current segment (rows past q_len take the last row's): the
// index, within the segment's keys, of the last key at a position <= the row's position, -1 if none.
// The host computes it from the rows' positions, so positions need not be contiguous.
#define FSK_KLIM(I) ((long long)key_limit[q_row0 + ((I) < q_len ? (I) : q_len - 1)])
namespace fsk {

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}

template <bool BF16>
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  if (BF16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <bool BF16>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if (BF16) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  } else {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

}  // namespace fsk
#endif

namespace fsk {

template <int D, int BN, int NW, int MT, bool QREG>
struct FwdCfg {
  static constexpr int BM = NW * MT * 16;
  static constexpr int THREADS = NW * 32;
  static constexpr int SMEM = 2 * D * (BM + 4 * BN);
};

// Swizzled element offset of (row, 16-byte chunk) in a [rows][D] tile of 16-bit elements.
template <int D>
__device__ __forceinline__ int swz(int row, int chunk) {
  return row * D + ((chunk ^ (row & 7)) << 3);
}

template <int D, int BN, int NW, int MT, bool QREG, bool CAUSAL, bool BF16>
__device__ __forceinline__ void fwd_body(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                                         const uint16_t* __restrict__ v, float* __restrict__ o,
                                         float* __restrict__ m_out, float* __restrict__ l_out,
                                         const long long* __restrict__ segments, const int* __restrict__ key_limit,
                                         const int* __restrict__ tiles,
                                         int num_tiles, float scale) {
  constexpr int BM = NW * MT * 16;
  constexpr int THREADS = NW * 32;
  constexpr int CH = D / 8;  // 16-byte chunks per row
  constexpr int NT = BN / 8;  // n8 tiles of S per m16 block
  constexpr int DT = D / 8;   // n8 tiles of O per m16 block
  static_assert(D % 16 == 0 && BN % 16 == 0, "tile shapes");

  extern __shared__ __align__(128) unsigned char smem_raw[];
  uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_raw);
  uint16_t* sK = sQ + BM * D;
  uint16_t* sV = sK + 2 * BN * D;
  const uint32_t sQa = smem_u32(sQ), sKa = smem_u32(sK), sVa = smem_u32(sV);

  const int tid = threadIdx.x;
  const int warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, t = lane & 3;

  const int tile = blockIdx.x;
  if (tile >= num_tiles) return;
  const int seg = tiles[2 * tile];
  const long long row0 = tiles[2 * tile + 1];
  const long long* sg = segments + 6 * (long long)seg;
  const long long q_row0 = sg[0], q_len = sg[1], k_row0 = sg[2], k_len = sg[3];
  if (row0 >= q_len || row0 < 0) return;
  const long long rows_here = (q_len - row0) < BM ? (q_len - row0) : BM;

  // Keys [0, n_keys) are processed. jmax(row i) = last visible key index for query i.
  long long n_keys = k_len;
  long long jmax_first = k_len - 1;  // for the tile's first row (smallest jmax when causal)
  if (CAUSAL) {
    const long long lim_last = FSK_KLIM(row0 + rows_here - 1);  // last visible key of last row
    if (lim_last + 1 < n_keys) n_keys = lim_last + 1 < 0 ? 0 : lim_last + 1;
    const long long lim_first = FSK_KLIM(row0);
    if (lim_first < jmax_first) jmax_first = lim_first < -1 ? -1 : lim_first;
  }
  const int n_kv_tiles = (int)((n_keys + BN - 1) / BN);

  // Per-thread rows: mt*16 + h*8 + g within the warp's block.
  int jmax_r[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      long long jm = k_len - 1;
      if (CAUSAL) {
        const long long i = row0 + warp * MT * 16 + mt * 16 + h * 8 + g;
        const long long lim = FSK_KLIM(i);
        if (lim < jm) jm = lim < -1 ? -1 : lim;
      }
      jmax_r[mt][h] = (int)jm;
    }

  float acc_o[MT][DT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int dt = 0; dt < DT; ++dt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[mt][dt][e] = 0.f;
  float row_m[MT][2], row_l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      row_m[mt][h] = -INFINITY;
      row_l[mt][h] = 0.f;
    }

  const float sl2 = scale * 1.4426950408889634f;

  if (n_kv_tiles > 0) {
    // ---- prologue: Q + KV tile 0 (group 0), KV tile 1 (group 1)
    for (int c = tid; c < BM * CH; c += THREADS) {
      const int r = c / CH, ch = c % CH;
      const bool ok = r < rows_here;
      const uint16_t* src = q + ((q_row0 + (ok ? row0 + r : 0)) * D + ch * 8);
      cp_async16(sQa + swz<D>(r, ch) * 2, src, ok ? 16 : 0);
    }
    auto load_kv = [&](int jt, int stage) {
      const long long j0 = (long long)jt * BN;
#pragma unroll
      for (int c = tid; c < BN * CH; c += THREADS) {
        const int r = c / CH, ch = c % CH;
        const bool ok = j0 + r < k_len;
        const long long off = (k_row0 + (ok ? j0 + r : 0)) * D + ch * 8;
        const uint32_t so = (stage * BN * D + swz<D>(r, ch)) * 2;
        cp_async16(sKa + so, k + off, ok ? 16 : 0);
        cp_async16(sVa + so, v + off, ok ? 16 : 0);
      }
    };
    load_kv(0, 0);
    cp_async_commit();
    if (n_kv_tiles > 1) load_kv(1, 1);
    cp_async_commit();

    uint32_t qf[QREG ? MT : 1][QREG ? D / 16 : 1][4];

    // ldmatrix lane addresses. Every ldmatrix row used by this lane has (row & 7) == (lane & 7), so the
    // swizzled byte offset of logical chunk (2*kk + c) is 128*(kk>>2) + 32*((kk&3) ^ x2) + 16*(c ^ x1)
    // with x = lane & 7, x2 = x >> 1, x1 = x & 1: four per-lane bases per operand, immediates otherwise.
    const int x2 = (lane & 7) >> 1, x1 = lane & 1;
    const int wrow = warp * MT * 16;
    uint32_t qb[4], kb[4], vb[4];
#pragma unroll
    for (int b = 0; b < 4; ++b) {
      qb[b] = sQa + (wrow + (lane & 15)) * D * 2 + 32 * (b ^ x2) + 16 * ((lane >> 4) ^ x1);
      kb[b] = sKa + ((lane & 7) + ((lane >> 4) << 3)) * D * 2 + 32 * (b ^ x2) + 16 * (((lane >> 3) & 1) ^ x1);
      vb[b] = sVa + ((lane & 7) + (((lane >> 3) & 1) << 3)) * D * 2 + 32 * (b ^ x2) + 16 * ((lane >> 4) ^ x1);
    }
    for (int jt = 0; jt < n_kv_tiles; ++jt) {
      cp_async_wait<1>();
      asm volatile("bar.sync 1, %0;\n" ::"n"(THREADS) : "memory");  // CTA may hold idle extra warps
      const int stage = jt & 1;
      if (QREG && jt == 0) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int kk = 0; kk < D / 16; ++kk) {
            ldsm_x4(qb[kk & 3] + (kk >> 2) * 128 + mt * 16 * D * 2, qf[mt][kk][0], qf[mt][kk][1], qf[mt][kk][2],
                    qf[mt][kk][3]);
          }
      }
      // ---- S = Q K^T
      float s[MT][NT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[mt][nt][e] = 0.f;
      const uint32_t soff = stage * BN * D * 2;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          if (QREG) {
#pragma unroll
            for (int e = 0; e < 4; ++e) a[mt][e] = qf[QREG ? mt : 0][QREG ? kk : 0][e];
          } else {
            ldsm_x4(qb[kk & 3] + (kk >> 2) * 128 + mt * 16 * D * 2, a[mt][0], a[mt][1], a[mt][2], a[mt][3]);
          }
        }
#pragma unroll
        for (int nn = 0; nn < BN / 16; ++nn) {
          uint32_t b0, b1, b2, b3;
          ldsm_x4(kb[kk & 3] + soff + (kk >> 2) * 128 + nn * 16 * D * 2, b0, b1, b2, b3);
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma16816<BF16>(s[mt][2 * nn], a[mt], b0, b1);
            mma16816<BF16>(s[mt][2 * nn + 1], a[mt], b2, b3);
          }
        }
      }
      // ---- mask (ragged tail / causal diagonal)
      const int j0 = jt * BN;
      if (j0 + BN - 1 > jmax_first) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int j = j0 + nt * 8 + 2 * t + (e & 1);
              if (j > jmax_r[mt][e >> 1]) s[mt][nt][e] = -INFINITY;
            }
      }
      // ---- online softmax (row max in raw score units; exp2 with scale*log2e folded into one FFMA)
      float alpha[MT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float mx = row_m[mt][h];
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          const float m_use = (mx == -INFINITY) ? 0.f : mx;
          const float neg = -m_use * sl2;
          alpha[mt][h] = (mx == row_m[mt][h]) ? 1.f : fast_exp2(fmaf(row_m[mt][h], sl2, neg));
          row_m[mt][h] = mx;
          float sum = 0.f;
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) {
            const float p0 = fast_exp2(fmaf(s[mt][nt][2 * h], sl2, neg));
            const float p1 = fast_exp2(fmaf(s[mt][nt][2 * h + 1], sl2, neg));
            s[mt][nt][2 * h] = p0;
            s[mt][nt][2 * h + 1] = p1;
            sum += p0 + p1;
          }
          row_l[mt][h] = row_l[mt][h] * alpha[mt][h] + sum;
        }
      bool rescale = false;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) rescale |= (alpha[mt][0] != 1.f) | (alpha[mt][1] != 1.f);
      if (__any_sync(0xffffffffu, rescale)) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int dt = 0; dt < DT; ++dt) {
            acc_o[mt][dt][0] *= alpha[mt][0];
            acc_o[mt][dt][1] *= alpha[mt][0];
            acc_o[mt][dt][2] *= alpha[mt][1];
            acc_o[mt][dt][3] *= alpha[mt][1];
          }
      }
      // ---- O += P V
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          a[mt][0] = pack2<BF16>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          a[mt][1] = pack2<BF16>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          a[mt][2] = pack2<BF16>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          a[mt][3] = pack2<BF16>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int dd = 0; dd < D / 16; ++dd) {
          uint32_t b0, b1, b2, b3;
          ldsm_x4_t(vb[dd & 3] + soff + (dd >> 2) * 128 + kk * 16 * D * 2, b0, b1, b2, b3);
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma16816<BF16>(acc_o[mt][2 * dd], a[mt], b0, b1);
            mma16816<BF16>(acc_o[mt][2 * dd + 1], a[mt], b2, b3);
          }
        }
      }
      asm volatile("bar.sync 1, %0;\n" ::"n"(THREADS) : "memory");  // CTA may hold idle extra warps
      if (jt + 2 < n_kv_tiles) load_kv(jt + 2, stage);
      cp_async_commit();
    }
    cp_async_wait<0>();
  }

  // ---- epilogue: reduce l across the quad, normalise, store
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float l = row_l[mt][h];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int r = warp * MT * 16 + mt * 16 + h * 8 + g;
      if (r < rows_here) {
        const long long grow = q_row0 + row0 + r;
        const float inv = l > 0.f ? 1.f / l : 0.f;
        float* orow = o + grow * D;
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) {
          float2 val = make_float2(acc_o[mt][dt][2 * h] * inv, acc_o[mt][dt][2 * h + 1] * inv);
          *reinterpret_cast<float2*>(orow + dt * 8 + 2 * t) = val;
        }
        if (t == 0) {
          const float mm = row_m[mt][h];
          m_out[grow] = (l > 0.f && mm != -INFINITY) ? mm * scale : -INFINITY;
          l_out[grow] = l > 0.f ? l : 0.f;
        }
      }
    }
}


// =============================================================================================
// Hopper path: wgmma (sm_90a only). 2 warpgroups x 64 query rows = BLOCK_M 128, 256 threads.
// Q, K, V tiles live in shared memory in the canonical 128-byte-swizzled wgmma layout:
// [D/64 column blocks][rows][64 elements], 16-byte chunk c of row r stored at chunk c ^ (r & 7).
// S = Q K^T: wgmma m64n{BN}k16, A (Q) and B (K) from smem descriptors (both K-major).
// O += P V: wgmma m64n{D}k16, A = P from registers (bf16/fp16), B = V from smem (MN-major).
// =============================================================================================
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FSK_HAS_WGMMA 1
#include "wgmma_gen.inc"

__device__ __forceinline__ uint64_t gmma_desc(uint32_t saddr, uint32_t lbo, uint32_t sbo) {
  return (uint64_t)((saddr & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32) |
         (1ull << 62);  // 128-byte swizzle, base offset 0 (atoms are 1024-byte aligned)
}
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wg_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
__device__ __forceinline__ void reg_fence(float& x) { asm volatile("" : "+f"(x)::"memory"); }
__device__ __forceinline__ void reg_fence(uint32_t& x) { asm volatile("" : "+r"(x)::"memory"); }
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

template <int N, bool BF16>
__device__ __forceinline__ void wg_ss(float* d, uint64_t da, uint64_t db, int scale_d) {
  if (N == 64) {
    if (BF16) wgmma_ss_n64_bf16(d, da, db, scale_d); else wgmma_ss_n64_f16(d, da, db, scale_d);
  } else {
    if (BF16) wgmma_ss_n128_bf16(d, da, db, scale_d); else wgmma_ss_n128_f16(d, da, db, scale_d);
  }
}
template <int N, bool BF16>
__device__ __forceinline__ void wg_rs(float* d, const uint32_t* a, uint64_t db) {
  if (N == 64) {
    if (BF16) wgmma_rs_n64_bf16(d, a, db); else wgmma_rs_n64_f16(d, a, db);
  } else {
    if (BF16) wgmma_rs_n128_bf16(d, a, db); else wgmma_rs_n128_f16(d, a, db);
  }
}

// byte offset of (row r, 16-byte chunk ch) in a [D/64][R][64] swizzled tile
template <int R>
__device__ __forceinline__ uint32_t sw128(int r, int ch) {
  return (uint32_t)((((ch >> 3) * R + r) << 7) + ((((ch & 7) ^ (r & 7))) << 4));
}

template <int D, int BN, bool CAUSAL, bool BF16>
__device__ __forceinline__ void fwd_wgmma(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                                          const uint16_t* __restrict__ v, float* __restrict__ o,
                                          float* __restrict__ m_out, float* __restrict__ l_out,
                                          const long long* __restrict__ segments, const int* __restrict__ key_limit,
                                         const int* __restrict__ tiles,
                                          int num_tiles, float scale) {
  constexpr int BM = 128;
  constexpr int THREADS = 256;
  constexpr int CH = D / 8;
  constexpr int NT = BN / 8;
  constexpr int DT = D / 8;
  static_assert(D == 64 || D == 128, "wgmma path: D 64 or 128");
  static_assert(BN == 64 || BN == 128, "wgmma path: BN 64 or 128");

  extern __shared__ __align__(128) unsigned char smem_raw[];
  const uint32_t sbase = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sQa = sbase, sKa = sQa + BM * D * 2, sVa = sKa + 2 * BN * D * 2;

  const int tid = threadIdx.x;
  const int warp = tid >> 5, lane = tid & 31;
  const int wg = warp >> 2, wwarp = warp & 3;
  const int g = lane >> 2, t = lane & 3;

  const int tile = blockIdx.x;
  if (tile >= num_tiles) return;
  const int seg = tiles[2 * tile];
  const long long row0 = tiles[2 * tile + 1];
  const long long* sg = segments + 6 * (long long)seg;
  const long long q_row0 = sg[0], q_len = sg[1], k_row0 = sg[2], k_len = sg[3];
  if (row0 >= q_len || row0 < 0) return;
  const long long rows_here = (q_len - row0) < BM ? (q_len - row0) : BM;

  long long n_keys = k_len;
  long long jmax_first = k_len - 1;
  if (CAUSAL) {
    const long long lim_last = FSK_KLIM(row0 + rows_here - 1);
    if (lim_last + 1 < n_keys) n_keys = lim_last + 1 < 0 ? 0 : lim_last + 1;
    const long long lim_first = FSK_KLIM(row0);
    if (lim_first < jmax_first) jmax_first = lim_first < -1 ? -1 : lim_first;
  }
  const int n_kv_tiles = (int)((n_keys + BN - 1) / BN);

  const int myrow = wg * 64 + wwarp * 16 + g;  // rows myrow and myrow + 8 of the tile
  int jmax_r[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    long long jm = k_len - 1;
    if (CAUSAL) {
      const long long lim = FSK_KLIM(row0 + myrow + 8 * h);
      if (lim < jm) jm = lim < -1 ? -1 : lim;
    }
    jmax_r[h] = (int)jm;
  }

  float acc_o[DT * 4];
#pragma unroll
  for (int i = 0; i < DT * 4; ++i) acc_o[i] = 0.f;
  float row_m[2] = {-INFINITY, -INFINITY}, row_l[2] = {0.f, 0.f};
  const float sl2 = scale * 1.4426950408889634f;

  if (n_kv_tiles > 0) {
    for (int c = tid; c < BM * CH; c += THREADS) {
      const int r = c / CH, ch = c % CH;
      const bool ok = r < rows_here;
      const uint16_t* src = q + ((q_row0 + (ok ? row0 + r : 0)) * D + ch * 8);
      cp_async16(sQa + sw128<BM>(r, ch), src, ok ? 16 : 0);
    }
    auto load_kv = [&](int jt, int stage) {
      const long long j0 = (long long)jt * BN;
#pragma unroll
      for (int c = tid; c < BN * CH; c += THREADS) {
        const int r = c / CH, ch = c % CH;
        const bool ok = j0 + r < k_len;
        const long long off = (k_row0 + (ok ? j0 + r : 0)) * D + ch * 8;
        const uint32_t so = stage * BN * D * 2 + sw128<BN>(r, ch);
        cp_async16(sKa + so, k + off, ok ? 16 : 0);
        cp_async16(sVa + so, v + off, ok ? 16 : 0);
      }
    };
    load_kv(0, 0);
    cp_async_commit();
    if (n_kv_tiles > 1) load_kv(1, 1);
    cp_async_commit();

    for (int jt = 0; jt < n_kv_tiles; ++jt) {
      cp_async_wait<1>();
      fence_proxy_async();
      __syncthreads();
      const int stage = jt & 1;
      const uint32_t soff = stage * BN * D * 2;
      // ---- S = Q K^T (64 x BN per warpgroup)
      float s[NT * 4];
#pragma unroll
      for (int i = 0; i < NT * 4; ++i) s[i] = 0.f;
      wg_fence();
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const uint64_t da = gmma_desc(sQa + (kk >> 2) * BM * 128 + wg * 64 * 128 + (kk & 3) * 32, 16, 1024);
        const uint64_t db = gmma_desc(sKa + soff + (kk >> 2) * BN * 128 + (kk & 3) * 32, 16, 1024);
        wg_ss<BN, BF16>(s, da, db, kk > 0 ? 1 : 0);
      }
      wg_commit();
      wg_wait<0>();
#pragma unroll
      for (int i = 0; i < NT * 4; ++i) reg_fence(s[i]);
      // ---- mask
      const int j0 = jt * BN;
      if (j0 + BN - 1 > jmax_first) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int j = j0 + nt * 8 + 2 * t + (e & 1);
            if (j > jmax_r[e >> 1]) s[nt * 4 + e] = -INFINITY;
          }
      }
      // ---- online softmax
      float alpha[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = row_m[h];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) mx = fmaxf(mx, fmaxf(s[nt * 4 + 2 * h], s[nt * 4 + 2 * h + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_use = (mx == -INFINITY) ? 0.f : mx;
        const float neg = -m_use * sl2;
        alpha[h] = (mx == row_m[h]) ? 1.f : fast_exp2(fmaf(row_m[h], sl2, neg));
        row_m[h] = mx;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          const float p0 = fast_exp2(fmaf(s[nt * 4 + 2 * h], sl2, neg));
          const float p1 = fast_exp2(fmaf(s[nt * 4 + 2 * h + 1], sl2, neg));
          s[nt * 4 + 2 * h] = p0;
          s[nt * 4 + 2 * h + 1] = p1;
          sum += p0 + p1;
        }
        row_l[h] = row_l[h] * alpha[h] + sum;
      }
      if (__any_sync(0xffffffffu, (alpha[0] != 1.f) | (alpha[1] != 1.f))) {
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) {
          acc_o[dt * 4 + 0] *= alpha[0];
          acc_o[dt * 4 + 1] *= alpha[0];
          acc_o[dt * 4 + 2] *= alpha[1];
          acc_o[dt * 4 + 3] *= alpha[1];
        }
      }
      uint32_t pa[BN / 16][4];
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        pa[kk][0] = pack2<BF16>(s[(2 * kk) * 4 + 0], s[(2 * kk) * 4 + 1]);
        pa[kk][1] = pack2<BF16>(s[(2 * kk) * 4 + 2], s[(2 * kk) * 4 + 3]);
        pa[kk][2] = pack2<BF16>(s[(2 * kk + 1) * 4 + 0], s[(2 * kk + 1) * 4 + 1]);
        pa[kk][3] = pack2<BF16>(s[(2 * kk + 1) * 4 + 2], s[(2 * kk + 1) * 4 + 3]);
      }
      // ---- O += P V
      wg_fence();
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        const uint64_t db = gmma_desc(sVa + soff + kk * 16 * 128, BN * 128, 1024);
        wg_rs<D, BF16>(acc_o, pa[kk], db);
      }
      wg_commit();
      wg_wait<0>();
#pragma unroll
      for (int i = 0; i < DT * 4; ++i) reg_fence(acc_o[i]);
      __syncthreads();
      if (jt + 2 < n_kv_tiles) load_kv(jt + 2, stage);
      cp_async_commit();
    }
    cp_async_wait<0>();
  }

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_l[h];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int r = myrow + 8 * h;
    if (r < rows_here) {
      const long long grow = q_row0 + row0 + r;
      const float inv = l > 0.f ? 1.f / l : 0.f;
      float* orow = o + grow * D;
#pragma unroll
      for (int dt = 0; dt < DT; ++dt) {
        float2 val = make_float2(acc_o[dt * 4 + 2 * h] * inv, acc_o[dt * 4 + 2 * h + 1] * inv);
        *reinterpret_cast<float2*>(orow + dt * 8 + 2 * t) = val;
      }
      if (t == 0) {
        const float mm = row_m[h];
        m_out[grow] = (l > 0.f && mm != -INFINITY) ? mm * scale : -INFINITY;
        l_out[grow] = l > 0.f ? l : 0.f;
      }
    }
  }
}

// Staggered ("ping-pong") variant: warpgroup 1 runs half an iteration behind warpgroup 0, so one
// warpgroup's softmax overlaps the other's tensor-core work even though both share one CTA barrier
// per KV tile. Iteration j (after the barrier that publishes K_j, V_j):
//   WG0: S_j = Q K_j^T ; softmax(S_j) ; O += P_j V_j
//   WG1: softmax(S_{j-1}) ; O += P_{j-1} V_{j-1} ; S_j = Q K_j^T   (S_j carried to iteration j+1)
// K is double buffered, V triple buffered (V_{j-1} is still read in iteration j); tile j+1 is
// prefetched with cp.async right after the barrier of iteration j.
template <int D, int BN, bool CAUSAL, bool BF16>
__device__ __forceinline__ void fwd_wgmma_pp(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                                             const uint16_t* __restrict__ v, float* __restrict__ o,
                                             float* __restrict__ m_out, float* __restrict__ l_out,
                                             const long long* __restrict__ segments, const int* __restrict__ key_limit,
                                         const int* __restrict__ tiles,
                                             int num_tiles, float scale) {
  constexpr int BM = 128;
  constexpr int THREADS = 256;
  constexpr int CH = D / 8;
  constexpr int NT = BN / 8;
  constexpr int DT = D / 8;
  constexpr int TILE_B = BN * D * 2;  // bytes of one K or V tile
  static_assert(D == 64 || D == 128, "wgmma path: D 64 or 128");
  static_assert(BN == 64 || BN == 128, "wgmma path: BN 64 or 128");

  extern __shared__ __align__(128) unsigned char smem_raw[];
  const uint32_t sbase = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sQa = sbase, sKa = sQa + BM * D * 2, sVa = sKa + 2 * TILE_B;

  const int tid = threadIdx.x;
  const int warp = tid >> 5, lane = tid & 31;
  const int wg = warp >> 2, wwarp = warp & 3;
  const int g = lane >> 2, t = lane & 3;

  const int tile = blockIdx.x;
  if (tile >= num_tiles) return;
  const int seg = tiles[2 * tile];
  const long long row0 = tiles[2 * tile + 1];
  const long long* sg = segments + 6 * (long long)seg;
  const long long q_row0 = sg[0], q_len = sg[1], k_row0 = sg[2], k_len = sg[3];
  if (row0 >= q_len || row0 < 0) return;
  const long long rows_here = (q_len - row0) < BM ? (q_len - row0) : BM;

  long long n_keys = k_len;
  long long jmax_first = k_len - 1;
  if (CAUSAL) {
    const long long lim_last = FSK_KLIM(row0 + rows_here - 1);
    if (lim_last + 1 < n_keys) n_keys = lim_last + 1 < 0 ? 0 : lim_last + 1;
    const long long lim_first = FSK_KLIM(row0);
    if (lim_first < jmax_first) jmax_first = lim_first < -1 ? -1 : lim_first;
  }
  const int n_kv_tiles = (int)((n_keys + BN - 1) / BN);

  const int myrow = wg * 64 + wwarp * 16 + g;
  int jmax_r[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    long long jm = k_len - 1;
    if (CAUSAL) {
      const long long lim = FSK_KLIM(row0 + myrow + 8 * h);
      if (lim < jm) jm = lim < -1 ? -1 : lim;
    }
    jmax_r[h] = (int)jm;
  }

  float acc_o[DT * 4];
#pragma unroll
  for (int i = 0; i < DT * 4; ++i) acc_o[i] = 0.f;
  float row_m[2] = {-INFINITY, -INFINITY}, row_l[2] = {0.f, 0.f};
  const float sl2 = scale * 1.4426950408889634f;

  // Branch-free K/V tile loader (it runs while this warpgroup's S GEMM is in flight, and a branch
  // there would make ptxas serialise the wgmma). Each thread owns one 16-byte chunk column (lch) and
  // rows lr + i*RSTEP; rows past k_len (or a tile past the last one) are zero-filled, never read.
  constexpr int RSTEP = THREADS / CH;
  constexpr int NPASS = BN / RSTEP;
  static_assert(RSTEP % 8 == 0 && BN % RSTEP == 0, "loader shape");
  const int lr = tid / CH, lch = tid % CH;
  const uint32_t lso = sw128<BN>(lr, lch);
  const long long lgoff = (k_row0 + lr) * D + lch * 8;
  auto load_kv = [&](int jt) {
    const long long j0 = (long long)jt * BN;
    const uint32_t ko = (jt % 2) * TILE_B, vo = (jt % 3) * TILE_B;
    const bool tile_ok = jt < n_kv_tiles;
#pragma unroll
    for (int i = 0; i < NPASS; ++i) {
      const bool ok = tile_ok && (j0 + lr + i * RSTEP < k_len);
      const long long off = ok ? lgoff + (j0 + i * RSTEP) * D : 0;
      cp_async16(sKa + ko + lso + i * RSTEP * 128, k + off, ok ? 16 : 0);
      cp_async16(sVa + vo + lso + i * RSTEP * 128, v + off, ok ? 16 : 0);
    }
  };
  uint32_t pa_keep[BN / 16][4];
  auto retire = [&]() {  // wait for every wgmma group of this warpgroup, pin the registers it used
    wg_wait<0>();
#pragma unroll
    for (int i = 0; i < DT * 4; ++i) reg_fence(acc_o[i]);
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e) reg_fence(pa_keep[kk][e]);
  };
  auto issue_s = [&](float* s, int jt) {
    const uint32_t ko = (jt % 2) * TILE_B;
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const uint64_t da = gmma_desc(sQa + (kk >> 2) * BM * 128 + wg * 64 * 128 + (kk & 3) * 32, 16, 1024);
      const uint64_t db = gmma_desc(sKa + ko + (kk >> 2) * BN * 128 + (kk & 3) * 32, 16, 1024);
      wg_ss<BN, BF16>(s, da, db, kk > 0 ? 1 : 0);
    }
    wg_commit();
  };
  auto retire_s = [&](float* s) {
    retire();
#pragma unroll
    for (int i = 0; i < NT * 4; ++i) reg_fence(s[i]);
  };
  auto softmax_pv = [&](float* s, int jt) {
    const int j0 = jt * BN;
    if (j0 + BN - 1 > jmax_first) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = j0 + nt * 8 + 2 * t + (e & 1);
          if (j > jmax_r[e >> 1]) s[nt * 4 + e] = -INFINITY;
        }
    }
    float alpha[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float mx = row_m[h];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) mx = fmaxf(mx, fmaxf(s[nt * 4 + 2 * h], s[nt * 4 + 2 * h + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_use = (mx == -INFINITY) ? 0.f : mx;
      const float neg = -m_use * sl2;
      alpha[h] = (mx == row_m[h]) ? 1.f : fast_exp2(fmaf(row_m[h], sl2, neg));
      row_m[h] = mx;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const float p0 = fast_exp2(fmaf(s[nt * 4 + 2 * h], sl2, neg));
        const float p1 = fast_exp2(fmaf(s[nt * 4 + 2 * h + 1], sl2, neg));
        s[nt * 4 + 2 * h] = p0;
        s[nt * 4 + 2 * h + 1] = p1;
        sum += p0 + p1;
      }
      row_l[h] = row_l[h] * alpha[h] + sum;
    }
    if (__any_sync(0xffffffffu, (alpha[0] != 1.f) | (alpha[1] != 1.f))) {
#pragma unroll
      for (int dt = 0; dt < DT; ++dt) {
        acc_o[dt * 4 + 0] *= alpha[0];
        acc_o[dt * 4 + 1] *= alpha[0];
        acc_o[dt * 4 + 2] *= alpha[1];
        acc_o[dt * 4 + 3] *= alpha[1];
      }
    }
    uint32_t pa[BN / 16][4];
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      pa[kk][0] = pack2<BF16>(s[(2 * kk) * 4 + 0], s[(2 * kk) * 4 + 1]);
      pa[kk][1] = pack2<BF16>(s[(2 * kk) * 4 + 2], s[(2 * kk) * 4 + 3]);
      pa[kk][2] = pack2<BF16>(s[(2 * kk + 1) * 4 + 0], s[(2 * kk + 1) * 4 + 1]);
      pa[kk][3] = pack2<BF16>(s[(2 * kk + 1) * 4 + 2], s[(2 * kk + 1) * 4 + 3]);
    }
    const uint32_t vo = (jt % 3) * TILE_B;
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      const uint64_t db = gmma_desc(sVa + vo + kk * 16 * 128, BN * 128, 1024);
      wg_rs<D, BF16>(acc_o, pa[kk], db);
    }
    wg_commit();
    // No wait here: the caller retires the P.V group (warpgroup 1 first issues its next S GEMM).
    // Keep P (wgmma A operand, read asynchronously) and O live/untouched until the group retired.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e) pa_keep[kk][e] = pa[kk][e];
  };

  if (n_kv_tiles > 0) {
    for (int c = tid; c < BM * CH; c += THREADS) {
      const int r = c / CH, ch = c % CH;
      const bool ok = r < rows_here;
      const uint16_t* src = q + ((q_row0 + (ok ? row0 + r : 0)) * D + ch * 8);
      cp_async16(sQa + sw128<BM>(r, ch), src, ok ? 16 : 0);
    }
    load_kv(0);
    cp_async_commit();
    float s[NT * 4];
#pragma unroll
    for (int i = 0; i < NT * 4; ++i) s[i] = 0.f;
    for (int jt = 0; jt < n_kv_tiles; ++jt) {
      cp_async_wait<0>();
      fence_proxy_async();
      __syncthreads();
      if (wg == 0) {
        issue_s(s, jt);
        load_kv(jt + 1);  // overlaps the S GEMM
        cp_async_commit();
        retire_s(s);
        softmax_pv(s, jt);
        retire();
      } else {
        if (jt > 0) softmax_pv(s, jt - 1);
        issue_s(s, jt);
        load_kv(jt + 1);
        cp_async_commit();
        retire_s(s);
      }
    }
    if (wg == 1) softmax_pv(s, n_kv_tiles - 1);
    retire();
    cp_async_wait<0>();  // the last (zero-fill) prefetch must land before the CTA exits
  }

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_l[h];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int r = myrow + 8 * h;
    if (r < rows_here) {
      const long long grow = q_row0 + row0 + r;
      const float inv = l > 0.f ? 1.f / l : 0.f;
      float* orow = o + grow * D;
#pragma unroll
      for (int dt = 0; dt < DT; ++dt) {
        float2 val = make_float2(acc_o[dt * 4 + 2 * h] * inv, acc_o[dt * 4 + 2 * h + 1] * inv);
        *reinterpret_cast<float2*>(orow + dt * 8 + 2 * t) = val;
      }
      if (t == 0) {
        const float mm = row_m[h];
        m_out[grow] = (l > 0.f && mm != -INFINITY) ? mm * scale : -INFINITY;
        l_out[grow] = l > 0.f ? l : 0.f;
      }
    }
  }
}

// Warp-specialised variant (experimental, FSK_WG_WS=1): warpgroup 0 is a cp.async producer (40
// registers after setmaxnreg), warpgroups 1 and 2 are consumers (232 registers) running the same
// staggered schedule as fwd_wgmma_pp, synchronised through mbarriers instead of a CTA barrier.
// 3 stages of (K, V); 384 threads.
__device__ __forceinline__ void mbar_init(uint32_t a, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(a), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t a) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(a) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t a, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred p;\nWAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      "@!p bra WAIT_%=;\n}\n" ::"r"(a),
      "r"(parity)
      : "memory");
}

template <int D, int BN, bool CAUSAL, bool BF16>
__device__ __forceinline__ void fwd_wgmma_ws(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                                             const uint16_t* __restrict__ v, float* __restrict__ o,
                                             float* __restrict__ m_out, float* __restrict__ l_out,
                                             const long long* __restrict__ segments, const int* __restrict__ key_limit,
                                         const int* __restrict__ tiles,
                                             int num_tiles, float scale) {
  constexpr int BM = 128;
  constexpr int NST = 3;
  constexpr int CH = D / 8;
  constexpr int NT = BN / 8;
  constexpr int DT = D / 8;
  constexpr int TILE_B = BN * D * 2;
  static_assert(D == 64 || D == 128, "wgmma path: D 64 or 128");
  static_assert(BN == 64 || BN == 128, "wgmma path: BN 64 or 128");

  extern __shared__ __align__(128) unsigned char smem_raw[];
  const uint32_t sbase = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sQa = sbase, sKa = sQa + BM * D * 2, sVa = sKa + NST * TILE_B;
  const uint32_t bar = sVa + NST * TILE_B;  // full[NST], empty[NST], q_full: 8 bytes each
  auto full_b = [&](int st) { return bar + 8 * st; };
  auto empty_b = [&](int st) { return bar + 8 * (NST + st); };
  const uint32_t qfull_b = bar + 8 * (2 * NST);

  const int tid = threadIdx.x;
  const int warp = tid >> 5, lane = tid & 31;
  const int wg = warp >> 2, wwarp = warp & 3;
  const int g = lane >> 2, t = lane & 3;

  const int tile = blockIdx.x;
  if (tile >= num_tiles) return;
  const int seg = tiles[2 * tile];
  const long long row0 = tiles[2 * tile + 1];
  const long long* sg = segments + 6 * (long long)seg;
  const long long q_row0 = sg[0], q_len = sg[1], k_row0 = sg[2], k_len = sg[3];
  if (row0 >= q_len || row0 < 0) return;
  const long long rows_here = (q_len - row0) < BM ? (q_len - row0) : BM;

  long long n_keys = k_len;
  long long jmax_first = k_len - 1;
  if (CAUSAL) {
    const long long lim_last = FSK_KLIM(row0 + rows_here - 1);
    if (lim_last + 1 < n_keys) n_keys = lim_last + 1 < 0 ? 0 : lim_last + 1;
    const long long lim_first = FSK_KLIM(row0);
    if (lim_first < jmax_first) jmax_first = lim_first < -1 ? -1 : lim_first;
  }
  const int n_kv_tiles = (int)((n_keys + BN - 1) / BN);

  if (tid == 0) {
    for (int st = 0; st < NST; ++st) {
      mbar_init(full_b(st), 128);
      mbar_init(empty_b(st), 256);
    }
    mbar_init(qfull_b, 128);
  }
  __syncthreads();

  if (wg == 0) {
    // ------------------------------------------------------------------ producer warpgroup
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
    if (n_kv_tiles == 0) return;
    const int ptid = tid;  // 0..127
    for (int c = ptid; c < BM * CH; c += 128) {
      const int r = c / CH, ch = c % CH;
      const bool ok = r < rows_here;
      const uint16_t* src = q + ((q_row0 + (ok ? row0 + r : 0)) * D + ch * 8);
      cp_async16(sQa + sw128<BM>(r, ch), src, ok ? 16 : 0);
    }
    cp_async_commit();
    constexpr int RSTEP = 128 / CH;
    constexpr int NPASS = BN / RSTEP;
    const int lr = ptid / CH, lch = ptid % CH;
    const uint32_t lso = sw128<BN>(lr, lch);
    const long long lgoff = (k_row0 + lr) * D + lch * 8;
    for (int jt = 0; jt < n_kv_tiles; ++jt) {
      const int st = jt % NST;
      if (jt >= NST) mbar_wait(empty_b(st), ((jt / NST) + 1) & 1);
      const long long j0 = (long long)jt * BN;
#pragma unroll
      for (int i = 0; i < NPASS; ++i) {
        const bool ok = j0 + lr + i * RSTEP < k_len;
        const long long off = ok ? lgoff + (j0 + i * RSTEP) * D : 0;
        cp_async16(sKa + st * TILE_B + lso + i * RSTEP * 128, k + off, ok ? 16 : 0);
        cp_async16(sVa + st * TILE_B + lso + i * RSTEP * 128, v + off, ok ? 16 : 0);
      }
      cp_async_commit();
      // publish the previous group (Q for jt == 0): its bytes have landed once one group is pending
      cp_async_wait<1>();
      fence_proxy_async();
      if (jt == 0) mbar_arrive(qfull_b); else mbar_arrive(full_b((jt - 1) % NST));
    }
    cp_async_wait<0>();
    fence_proxy_async();
    mbar_arrive(full_b((n_kv_tiles - 1) % NST));
    return;
  }

  // -------------------------------------------------------------------- consumer warpgroups
  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
  const int cw = wg - 1;  // 0 leads, 1 lags half an iteration
  const int myrow = cw * 64 + wwarp * 16 + g;
  int jmax_r[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    long long jm = k_len - 1;
    if (CAUSAL) {
      const long long lim = FSK_KLIM(row0 + myrow + 8 * h);
      if (lim < jm) jm = lim < -1 ? -1 : lim;
    }
    jmax_r[h] = (int)jm;
  }
  float acc_o[DT * 4];
#pragma unroll
  for (int i = 0; i < DT * 4; ++i) acc_o[i] = 0.f;
  float row_m[2] = {-INFINITY, -INFINITY}, row_l[2] = {0.f, 0.f};
  const float sl2 = scale * 1.4426950408889634f;

  uint32_t pa_keep[BN / 16][4];
  auto retire = [&]() {
    wg_wait<0>();
#pragma unroll
    for (int i = 0; i < DT * 4; ++i) reg_fence(acc_o[i]);
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e) reg_fence(pa_keep[kk][e]);
  };
  auto issue_s = [&](float* s, int jt) {
    const uint32_t ko = (jt % NST) * TILE_B;
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const uint64_t da = gmma_desc(sQa + (kk >> 2) * BM * 128 + cw * 64 * 128 + (kk & 3) * 32, 16, 1024);
      const uint64_t db = gmma_desc(sKa + ko + (kk >> 2) * BN * 128 + (kk & 3) * 32, 16, 1024);
      wg_ss<BN, BF16>(s, da, db, kk > 0 ? 1 : 0);
    }
    wg_commit();
  };
  auto softmax_pv = [&](float* s, int jt) {
    const int j0 = jt * BN;
    if (j0 + BN - 1 > jmax_first) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = j0 + nt * 8 + 2 * t + (e & 1);
          if (j > jmax_r[e >> 1]) s[nt * 4 + e] = -INFINITY;
        }
    }
    float alpha[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float mx = row_m[h];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) mx = fmaxf(mx, fmaxf(s[nt * 4 + 2 * h], s[nt * 4 + 2 * h + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_use = (mx == -INFINITY) ? 0.f : mx;
      const float neg = -m_use * sl2;
      alpha[h] = (mx == row_m[h]) ? 1.f : fast_exp2(fmaf(row_m[h], sl2, neg));
      row_m[h] = mx;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const float p0 = fast_exp2(fmaf(s[nt * 4 + 2 * h], sl2, neg));
        const float p1 = fast_exp2(fmaf(s[nt * 4 + 2 * h + 1], sl2, neg));
        s[nt * 4 + 2 * h] = p0;
        s[nt * 4 + 2 * h + 1] = p1;
        sum += p0 + p1;
      }
      row_l[h] = row_l[h] * alpha[h] + sum;
    }
    if (__any_sync(0xffffffffu, (alpha[0] != 1.f) | (alpha[1] != 1.f))) {
#pragma unroll
      for (int dt = 0; dt < DT; ++dt) {
        acc_o[dt * 4 + 0] *= alpha[0];
        acc_o[dt * 4 + 1] *= alpha[0];
        acc_o[dt * 4 + 2] *= alpha[1];
        acc_o[dt * 4 + 3] *= alpha[1];
      }
    }
    uint32_t pa[BN / 16][4];
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      pa[kk][0] = pack2<BF16>(s[(2 * kk) * 4 + 0], s[(2 * kk) * 4 + 1]);
      pa[kk][1] = pack2<BF16>(s[(2 * kk) * 4 + 2], s[(2 * kk) * 4 + 3]);
      pa[kk][2] = pack2<BF16>(s[(2 * kk + 1) * 4 + 0], s[(2 * kk + 1) * 4 + 1]);
      pa[kk][3] = pack2<BF16>(s[(2 * kk + 1) * 4 + 2], s[(2 * kk + 1) * 4 + 3]);
    }
    const uint32_t vo = (jt % NST) * TILE_B;
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      const uint64_t db = gmma_desc(sVa + vo + kk * 16 * 128, BN * 128, 1024);
      wg_rs<D, BF16>(acc_o, pa[kk], db);
    }
    wg_commit();
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e) pa_keep[kk][e] = pa[kk][e];
  };

  if (n_kv_tiles > 0) {
    mbar_wait(qfull_b, 0);
    float s[NT * 4];
#pragma unroll
    for (int i = 0; i < NT * 4; ++i) s[i] = 0.f;
    for (int jt = 0; jt < n_kv_tiles; ++jt) {
      const int st = jt % NST;
      mbar_wait(full_b(st), (jt / NST) & 1);
      if (cw == 0) {
        issue_s(s, jt);
        retire();
#pragma unroll
        for (int i = 0; i < NT * 4; ++i) reg_fence(s[i]);
        softmax_pv(s, jt);
        retire();
        mbar_arrive(empty_b(st));
      } else {
        if (jt > 0) softmax_pv(s, jt - 1);
        issue_s(s, jt);
        retire();
#pragma unroll
        for (int i = 0; i < NT * 4; ++i) reg_fence(s[i]);
        if (jt > 0) mbar_arrive(empty_b((jt - 1) % NST));
      }
    }
    if (cw == 1) {
      softmax_pv(s, n_kv_tiles - 1);
      retire();
      mbar_arrive(empty_b((n_kv_tiles - 1) % NST));
    }
  }

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_l[h];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int r = myrow + 8 * h;
    if (r < rows_here) {
      const long long grow = q_row0 + row0 + r;
      const float inv = l > 0.f ? 1.f / l : 0.f;
      float* orow = o + grow * D;
#pragma unroll
      for (int dt = 0; dt < DT; ++dt) {
        float2 val = make_float2(acc_o[dt * 4 + 2 * h] * inv, acc_o[dt * 4 + 2 * h + 1] * inv);
        *reinterpret_cast<float2*>(orow + dt * 8 + 2 * t) = val;
      }
      if (t == 0) {
        const float mm = row_m[h];
        m_out[grow] = (l > 0.f && mm != -INFINITY) ? mm * scale : -INFINITY;
        l_out[grow] = l > 0.f ? l : 0.f;
      }
    }
  }
}
#endif  // sm_90a

}  // namespace fsk

// ---------------------------------------------------------------------------------------------
// Exported kernels (ABI: see kernels.properties and docs/kernels.md)
// ---------------------------------------------------------------------------------------------
#define FSK_FWD_ARGS                                                                                      \
  const void *q, const void *k, const void *v, float *o, float *m, float *l, const long long *segments, \
      const int *key_limit, const int *tiles, int num_tiles, float scale
#define FSK_FWD_PASS                                                                                      \
  static_cast<const uint16_t*>(q), static_cast<const uint16_t*>(k), static_cast<const uint16_t*>(v), o, m, \
      l, segments, key_limit, tiles, num_tiles, scale

// Tuning constants (overridable with -D for experiments; the shipped values are the defaults).
// Launch contract (both code paths): 256 threads, BLOCK_M 128, dynamic smem FSK_SMEM_D{64,128}.
#ifndef FSK_WG_WS
#define FSK_WG_WS 0  // experimental warp-specialised d128 path (384 threads)
#endif
#ifndef FSK_USE_WGMMA
#define FSK_USE_WGMMA 1
#endif
#ifndef FSK_WG_BN64
#define FSK_WG_BN64 64
#endif
#ifndef FSK_WG_PP64
#define FSK_WG_PP64 0
#endif
#ifndef FSK_WG_PP128
#define FSK_WG_PP128 1
#endif

#ifndef FSK_D64_MINB
#define FSK_D64_MINB 1
#endif
#ifndef FSK_WG_BN128
#define FSK_WG_BN128 128
#endif
// mma.sync fallback (sm_80, PTX JIT on other GPUs): 8 warps x 16 rows, Q in registers, BLOCK_N 64.
#define FSK_MMA_CFG(D) D, 64, 8, 1, true

#if defined(FSK_HAS_WGMMA) && FSK_USE_WGMMA
#define FSK_PP_OF(D) ((D) == 64 ? FSK_WG_PP64 : FSK_WG_PP128)
#define FSK_BODY(D, BNW, CAUSAL, BF16)                                 \
  if (FSK_WG_WS && (D) == 128)                                         \
    fsk::fwd_wgmma_ws<D, BNW, CAUSAL, BF16>(FSK_FWD_PASS);             \
  else if (FSK_PP_OF(D))                                               \
    fsk::fwd_wgmma_pp<D, BNW, CAUSAL, BF16>(FSK_FWD_PASS);             \
  else                                                                 \
    fsk::fwd_wgmma<D, BNW, CAUSAL, BF16>(FSK_FWD_PASS)
#else
#define FSK_BODY(D, BNW, CAUSAL, BF16)                             \
  if (threadIdx.x >= 256) return; /* 384-thread contract: 4 idle warps */ \
  fsk::fwd_body<FSK_MMA_CFG(D), CAUSAL, BF16>(FSK_FWD_PASS)
#endif

#define FSK_THREADS_OF(D) ((FSK_WG_WS && (D) == 128) ? 384 : 256)
#define FSK_DEF(NAME, D, BNW, MINB, CAUSAL, BF16)                                               \
  extern "C" __global__ void __launch_bounds__(FSK_THREADS_OF(D), MINB) NAME(FSK_FWD_ARGS) { \
    FSK_BODY(D, BNW, CAUSAL, BF16);                                            \
  }

FSK_DEF(flashspark_fwd_bf16_d64, 64, FSK_WG_BN64, FSK_D64_MINB, false, true)
FSK_DEF(flashspark_fwd_bf16_d64_causal, 64, FSK_WG_BN64, FSK_D64_MINB, true, true)
FSK_DEF(flashspark_fwd_fp16_d64, 64, FSK_WG_BN64, FSK_D64_MINB, false, false)
FSK_DEF(flashspark_fwd_fp16_d64_causal, 64, FSK_WG_BN64, FSK_D64_MINB, true, false)
FSK_DEF(flashspark_fwd_bf16_d128, 128, FSK_WG_BN128, 1, false, true)
FSK_DEF(flashspark_fwd_bf16_d128_causal, 128, FSK_WG_BN128, 1, true, true)
FSK_DEF(flashspark_fwd_fp16_d128, 128, FSK_WG_BN128, 1, false, false)
FSK_DEF(flashspark_fwd_fp16_d128_causal, 128, FSK_WG_BN128, 1, true, false)
