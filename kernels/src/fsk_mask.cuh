/*
 * Masking on one warp's m16 x (8 NT) score fragment (the accumulator layout fsk_softmax.cuh describes),
 * shared by the mma.sync (sm_80) and wgmma (sm_90a) loops: keys past a row's last visible key (the causal
 * diagonal, a segment's ragged key tail, sparse positions through key_limit) score -inf before the
 * softmax, so their p is exactly 0. Each row's last visible key comes from fsk_tile.cuh (row_last_key);
 * the loops skip this element-wise mask on the KV tiles every row of the work tile sees whole.
 */
#pragma once

namespace fsk {

// Keys past a row's last visible key score -inf: jmax[0] for row g, jmax[1] for row g + 8 of the
// fragment; j0 is the tile's first key.
template <int NT>
__device__ __forceinline__ void mask_scores(float* s, int j0, int t, const int* jmax) {
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int j = j0 + nt * 8 + 2 * t + (e & 1);
      if (j > jmax[e >> 1]) s[nt * 4 + e] = -INFINITY;
    }
}

}  // namespace fsk
