/*
 * The epilogue shared by every main loop: one warp's m16 fragment of O (DT n8 tiles, the
 * accumulator layout of fsk_softmax.cuh) with its rows' m and quad-partial l -> o = O / l in fp32,
 * m * scale (the natural-log-domain max) and l, for the tile rows that exist. Traffic: D fp32 per
 * row, written as float2 pairs (each quad writes 8 * DT consecutive floats), plus 8 bytes per row.
 * A row that saw no key writes o = 0, m = -inf, l = 0 (the empty partial of the merge rule).
 */
#pragma once

namespace fsk {

template <int D>
__device__ __forceinline__ void store_rows(const float* acc_o, const float* row_m, const float* row_l, int first_row,
                                           int g, int t, long long rows_here, long long grow0,
                                           float* __restrict__ o, float* __restrict__ m_out,
                                           float* __restrict__ l_out, float scale) {
  constexpr int DT = D / 8;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_l[h];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int r = first_row + h * 8 + g;
    if (r < rows_here) {
      const long long grow = grow0 + r;
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

}  // namespace fsk
