/*
 * Forward main loops on wgmma (sm_90a cubin only): fwd_wgmma (d64: both warpgroups in step) and
 * fwd_wgmma_pp (d128: the ping-pong schedule, warpgroup 1 half a KV tile behind warpgroup 0).
 * Tiling, shared-memory layout, traffic and numerical contract: flash_fwd.cu's header.
 */
#pragma once
#include "fsk_device.cuh"
#include "fsk_epilogue.cuh"
#include "fsk_softmax.cuh"
#include "fsk_tile.cuh"

namespace fsk {

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

  TileWork w;
  if (!decode_tile<BM, BN, CAUSAL>(segments, tiles, key_limit, blockIdx.x, num_tiles, w)) return;
  const long long q_row0 = w.q_row0, k_row0 = w.k_row0, k_len = w.k_len, row0 = w.row0;
  const long long rows_here = w.rows_here, jmax_first = w.jmax_first;
  const int n_kv_tiles = w.n_kv_tiles;

  const int myrow = wg * 64 + wwarp * 16 + g;  // rows myrow and myrow + 8 of the tile
  int jmax_r[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) jmax_r[h] = row_last_key<CAUSAL>(key_limit, w, myrow + 8 * h);

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
      // ---- mask, online softmax, O rescaled where a row max moved
      const int j0 = jt * BN;
      if (j0 + BN - 1 > jmax_first) mask_scores<NT>(s, j0, t, jmax_r);
      float alpha[2];
      online_softmax<NT>(s, row_m, row_l, alpha, sl2);
      if (__any_sync(0xffffffffu, (alpha[0] != 1.f) | (alpha[1] != 1.f))) rescale_rows<DT>(acc_o, alpha);
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

  store_rows<D>(acc_o, row_m, row_l, wg * 64 + wwarp * 16, g, t, rows_here, q_row0 + row0, o, m_out, l_out, scale);
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

  TileWork w;
  if (!decode_tile<BM, BN, CAUSAL>(segments, tiles, key_limit, blockIdx.x, num_tiles, w)) return;
  const long long q_row0 = w.q_row0, k_row0 = w.k_row0, k_len = w.k_len, row0 = w.row0;
  const long long rows_here = w.rows_here, jmax_first = w.jmax_first;
  const int n_kv_tiles = w.n_kv_tiles;

  const int myrow = wg * 64 + wwarp * 16 + g;
  int jmax_r[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) jmax_r[h] = row_last_key<CAUSAL>(key_limit, w, myrow + 8 * h);

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
    if (j0 + BN - 1 > jmax_first) mask_scores<NT>(s, j0, t, jmax_r);
    float alpha[2];
    online_softmax<NT>(s, row_m, row_l, alpha, sl2);
    if (__any_sync(0xffffffffu, (alpha[0] != 1.f) | (alpha[1] != 1.f))) rescale_rows<DT>(acc_o, alpha);
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

  store_rows<D>(acc_o, row_m, row_l, wg * 64 + wwarp * 16, g, t, rows_here, q_row0 + row0, o, m_out, l_out, scale);
}
#endif  // sm_90a
}  // namespace fsk
