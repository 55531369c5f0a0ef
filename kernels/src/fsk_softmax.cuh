/*
 * The online softmax on one warp's m16 x (8 NT) score fragment, shared by the mma.sync
 * (sm_80) and wgmma (sm_90a) loops, which hold S in the same accumulator layout: element
 * s[nt * 4 + e] is row g + 8 (e >> 1) of the 16, key nt * 8 + 2 t + (e & 1) of the tile
 * (g = lane / 4, t = lane % 4); the four lanes of a quad share a row.
 *
 * NUMERICAL CONTRACT (flash_fwd.cu's header): row max m in raw score units; p = exp2(s * scale *
 * log2 e - m * scale * log2 e) as one FFMA + ex2 (every POLY_EVERY-th n8 tile's through poly_exp2, on the
 * FMA pipe, where the kernel is built so); l accumulated in fp32 from the unrounded p; when a
 * row's max moves, l and O are rescaled by alpha = exp2((m_old - m_new) * scale * log2 e). A row that
 * has seen no key keeps m = -inf and l = 0 (its p are exp2(-inf) = 0, never NaN).
 */
#pragma once
#include "fsk_device.cuh"

namespace fsk {

// One KV tile's online-softmax step for the fragment's two rows: s becomes p, row_m and row_l
// move on, alpha says how much the rows' O must shrink. POLY_EVERY > 0: every POLY_EVERY-th n8 tile's
// exponentials are computed on the FMA pipe (poly_exp2), taking that share off the MUFU unit.
template <int NT, int POLY_EVERY = 0>
__device__ __forceinline__ void online_softmax(float* s, float* row_m, float* row_l, float* alpha, float sl2) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    // four independent max and sum chains: the reductions' latency, not their count, bounds a warp
    // that has its SM sub-partition to itself while the other warpgroup's GEMMs run
    float mxs[4] = {row_m[h], -INFINITY, -INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) mxs[nt & 3] = fmaxf(mxs[nt & 3], fmaxf(s[nt * 4 + 2 * h], s[nt * 4 + 2 * h + 1]));
    float mx = fmaxf(fmaxf(mxs[0], mxs[1]), fmaxf(mxs[2], mxs[3]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_use = (mx == -INFINITY) ? 0.f : mx;
    const float neg = -m_use * sl2;
    alpha[h] = (mx == row_m[h]) ? 1.f : fast_exp2(fmaf(row_m[h], sl2, neg));
    row_m[h] = mx;
    float sums[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const bool poly = POLY_EVERY > 0 && nt % POLY_EVERY == POLY_EVERY - 1;
      const float x0 = fmaf(s[nt * 4 + 2 * h], sl2, neg), x1 = fmaf(s[nt * 4 + 2 * h + 1], sl2, neg);
      const float p0 = poly ? poly_exp2(x0) : fast_exp2(x0);
      const float p1 = poly ? poly_exp2(x1) : fast_exp2(x1);
      s[nt * 4 + 2 * h] = p0;
      s[nt * 4 + 2 * h + 1] = p1;
      sums[nt & 3] += p0 + p1;
    }
    row_l[h] = row_l[h] * alpha[h] + ((sums[0] + sums[1]) + (sums[2] + sums[3]));
  }
}

// O of the fragment's two rows (DT n8 tiles, same layout) scaled by their alpha.
template <int DT>
__device__ __forceinline__ void rescale_rows(float* acc_o, const float* alpha) {
#pragma unroll
  for (int dt = 0; dt < DT; ++dt) {
    acc_o[dt * 4 + 0] *= alpha[0];
    acc_o[dt * 4 + 1] *= alpha[0];
    acc_o[dt * 4 + 2] *= alpha[1];
    acc_o[dt * 4 + 3] *= alpha[1];
  }
}

}  // namespace fsk
