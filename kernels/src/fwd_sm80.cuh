/*
 * Forward main loop on mma.sync (sm_80 cubin, compute_90 PTX JIT elsewhere): 8 warps x 16 query rows
 * = BLOCK_M 128, Q fragments kept in registers, K/V tiles of FSK_MMA_BN (64) keys double buffered in
 * XOR-swizzled shared memory via cp.async, S = Q K^T and O += P V with m16n8k16, online softmax in fp32
 * registers, epilogue o / l, m, l. Tiling, traffic and numerical contract: flash_fwd.cu's header.
 */
#pragma once
#include "fsk_device.cuh"
#include "fsk_epilogue.cuh"
#include "fsk_mask.cuh"
#include "fsk_softmax.cuh"
#include "fsk_tile.cuh"

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

  TileWork w;
  if (!decode_tile<BM, BN, CAUSAL>(segments, tiles, key_limit, blockIdx.x, num_tiles, w)) return;
  const long long q_row0 = w.q_row0, k_row0 = w.k_row0, k_len = w.k_len, row0 = w.row0;
  const long long rows_here = w.rows_here, jmax_first = w.jmax_first;
  const int n_kv_tiles = w.n_kv_tiles;

  // Per-thread rows: mt*16 + h*8 + g within the warp's block.
  int jmax_r[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) jmax_r[mt][h] = row_last_key<CAUSAL>(key_limit, w, warp * MT * 16 + mt * 16 + h * 8 + g);

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
      // ---- mask (ragged tail / causal diagonal), online softmax, O rescaled where a row max moved
      const int j0 = jt * BN;
      if (j0 + BN - 1 > jmax_first) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) mask_scores<NT>(&s[mt][0][0], j0, t, jmax_r[mt]);
      }
      float alpha[MT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) online_softmax<NT>(&s[mt][0][0], row_m[mt], row_l[mt], alpha[mt], sl2);
      bool rescale = false;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) rescale |= (alpha[mt][0] != 1.f) | (alpha[mt][1] != 1.f);
      if (__any_sync(0xffffffffu, rescale)) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) rescale_rows<DT>(&acc_o[mt][0][0], alpha[mt]);
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
    store_rows<D>(&acc_o[mt][0][0], row_m[mt], row_l[mt], warp * MT * 16 + mt * 16, g, t, rows_here, q_row0 + row0, o,
                  m_out, l_out, scale);
}
}  // namespace fsk
