/*
 * flashspark_merge: combine num_parts partial attention results of the same `rows` query rows.
 *
 *   o_parts [num_parts][rows][d] (each normalised), m_parts / l_parts [num_parts][rows].
 *   M = max_p m_p; w_p = l_p * exp(m_p - M) (w_p = 0 when l_p == 0 or m_p == -inf);
 *   l = sum_p w_p; o = sum_p w_p o_p / l; m = M. If no part saw a key (M == -inf or l == 0):
 *   m = -inf, l = 0, o = 0 (never NaN). Any d in 1..256 (any d >= 1 in fact); float4 path when
 *   d % 4 == 0 and the pointers are 16-byte aligned.
 *
 * Launch: blockDim.x = 256 (8 warps); one warp per row, grid-stride over rows:
 *   gridDim.x = min(ceil(rows / 8), 65535) (any positive value is correct).
 * Traffic: reads num_parts*rows*(d+2)*4 bytes, writes rows*(d+2)*4 bytes; fp32 throughout.
 */
#include <stdint.h>
#include <math.h>

extern "C" __global__ void __launch_bounds__(256) flashspark_merge(const float* __restrict__ o_parts,
                                                                  const float* __restrict__ m_parts,
                                                                  const float* __restrict__ l_parts, int num_parts,
                                                                  long long rows, int d, float* __restrict__ o,
                                                                  float* __restrict__ m, float* __restrict__ l) {
  const int lane = threadIdx.x & 31;
  const long long warps_total = (long long)gridDim.x * (blockDim.x >> 5);
  const bool vec = ((d & 3) == 0) && ((((uintptr_t)o_parts) | ((uintptr_t)o)) & 15) == 0;
  for (long long r = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps_total) {
    // Row max over parts (lanes split the parts, then reduce).
    float M = -INFINITY;
    for (int p = lane; p < num_parts; p += 32) {
      const float mp = m_parts[(long long)p * rows + r];
      const float lp = l_parts[(long long)p * rows + r];
      if (lp > 0.f && mp > -INFINITY) M = fmaxf(M, mp);
    }
#pragma unroll
    for (int s = 16; s > 0; s >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, s));
    float L = 0.f;
    if (M > -INFINITY) {
      for (int p = lane; p < num_parts; p += 32) {
        const float mp = m_parts[(long long)p * rows + r];
        const float lp = l_parts[(long long)p * rows + r];
        if (lp > 0.f && mp > -INFINITY) L += lp * expf(mp - M);
      }
#pragma unroll
      for (int s = 16; s > 0; s >>= 1) L += __shfl_xor_sync(0xffffffffu, L, s);
    }
    const bool empty = !(M > -INFINITY) || !(L > 0.f);
    const float invL = empty ? 0.f : 1.f / L;
    float* orow = o + r * d;
    if (vec) {
      const int d4 = d >> 2;
      for (int c = lane; c < d4; c += 32) {
        float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
        if (!empty) {
          for (int p = 0; p < num_parts; ++p) {
            const float mp = m_parts[(long long)p * rows + r];
            const float lp = l_parts[(long long)p * rows + r];
            if (lp > 0.f && mp > -INFINITY) {
              const float w = lp * expf(mp - M) * invL;
              const float4 x = reinterpret_cast<const float4*>(o_parts + ((long long)p * rows + r) * d)[c];
              acc.x = fmaf(w, x.x, acc.x);
              acc.y = fmaf(w, x.y, acc.y);
              acc.z = fmaf(w, x.z, acc.z);
              acc.w = fmaf(w, x.w, acc.w);
            }
          }
        }
        reinterpret_cast<float4*>(orow)[c] = acc;
      }
    } else {
      for (int c = lane; c < d; c += 32) {
        float acc = 0.f;
        if (!empty) {
          for (int p = 0; p < num_parts; ++p) {
            const float mp = m_parts[(long long)p * rows + r];
            const float lp = l_parts[(long long)p * rows + r];
            if (lp > 0.f && mp > -INFINITY) {
              const float w = lp * expf(mp - M) * invL;
              acc = fmaf(w, o_parts[((long long)p * rows + r) * d + c], acc);
            }
          }
        }
        orow[c] = acc;
      }
    }
    if (lane == 0) {
      m[r] = empty ? -INFINITY : M;
      l[r] = empty ? 0.f : L;
    }
  }
}
