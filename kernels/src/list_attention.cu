/*
 * flashspark_list_attention: the SQL function flash_attention(q, keys, values [, scale]) over a batch of
 * rows held in the Arrow / cuDF list layout, for the RAPIDS Accelerator's columnar UDF path.
 *
 * INPUT LAYOUT (cuDF columns as the plugin hands them over; a null mask pointer means "no nulls"):
 *   q       LIST(FLOAT32):        q_off[rows+1] (int32) into q[] floats; row mask q_rv, element mask q_ev
 *   keys    LIST(LIST(FLOAT32)):  k_outer[rows+1] into vectors, k_inner[vectors+1] into k[] floats;
 *                                  row mask k_rv, vector mask k_vv, element mask k_ev;  values alike (v_*)
 *   scale   FLOAT64 per row (s, mask s_v); null: 1/sqrt(d)
 * OUTPUT: o[] FLOAT32 at q's offsets (o_i has q_i's length), lse[rows] FLOAT64, out_valid (a zeroed
 *   bitmask; the kernel sets the bits of rows whose three inputs are non-null), scores[vectors] scratch.
 *   Per row the first problem in the row path's check order is written to rank[row] (0 = none) and the
 *   smallest bad row to *first_bad (initialised to INT64_MAX), so the host reports the same problem the
 *   row path would (ListAttention.Problem decodes a rank). *nulls counts null rows.
 *
 * TILING: one CTA of 128 threads per row (gridDim.x = rows). Check pass over the row's elements
 *   (coalesced per vector); pass 1: thread t scores keys t, t+128, ... (a key's d values read by one thread,
 *   L1 serves the rest of each 128-byte line); pass 2: exponentials in place; pass 3: thread t owns
 *   output columns t, t+128, ... and sweeps the values, coalesced across threads.
 * MEMORY TRAFFIC per row: keys and values read once for the checks and once to compute (2x(M d 4) bytes
 *   each; the second read mostly from L2 for small rows), q d*4, scores 3 x M x 8, o d*4, lse 8.
 * NUMERICAL CONTRACT: the row path's: float64 throughout (scores, max, exponentials, sums), o rounded
 *   once to float; lse = max + ln(sum). It differs from ReferenceAttention only by the order of float64
 *   additions (o within 1 float ulp, lse within 1e-12 relative).
 */
#include <stdint.h>

#include "fsk_config.h"  // FSK_LIST_THREADS

namespace fsk_list {

__device__ __forceinline__ bool bit(const uint32_t* mask, long long i) {
  return mask == nullptr || ((mask[i >> 5] >> (i & 31)) & 1u);
}

// Problem ranks, ordered as the row path checks: stage (3 bits) | vector j (31) | which (1) | sub (29).
__device__ __forceinline__ unsigned long long problem_rank(unsigned long long stage, unsigned long long j,
                                                   unsigned long long which, unsigned long long sub) {
  return (stage << 61) | (j << 30) | (which << 29) | sub;
}

__device__ __forceinline__ bool bad_value(const float* data, const uint32_t* ev, long long i) {
  return !bit(ev, i) || !isfinite(data[i]);
}

// The first problem of vector j of one list-of-vectors argument (which: 0 keys, 1 values).
__device__ __forceinline__ void check_vectors(unsigned long long* best, int M, long long vec0, int d,
                                              const int* inner, const float* data, const uint32_t* vv,
                                              const uint32_t* ev, unsigned long long which) {
  for (int j = 0; j < M; j++) {
    const long long vec = vec0 + j;
    const int len = inner[vec + 1] - inner[vec];
    unsigned long long r = ~0ull;
    if (threadIdx.x == 0) {
      if (!bit(vv, vec)) r = problem_rank(4, j, which, 0);
      else if (len == 0) r = problem_rank(4, j, which, 1);
      else if (len != d) r = problem_rank(4, j, which, 2);
    }
    if (bit(vv, vec) && len == d) {
      for (int c = threadIdx.x; c < d; c += blockDim.x) {
        if (bad_value(data, ev, (long long)inner[vec] + c)) { r = min(r, problem_rank(4, j, which, 3 + c)); break; }
      }
    }
    if (r != ~0ull) atomicMin(best, r);
    if (j % 8 == 7) {  // stop early once this row has a problem at an earlier vector (uniform decision)
      __syncthreads();
      const bool stop = *best != ~0ull && ((*best >> 30) & 0x7fffffffull) < (unsigned long long)j;
      __syncthreads();
      if (stop) return;
    }
  }
}

__device__ double block_max(double x, double* red) {
  for (int o = 16; o > 0; o >>= 1) x = fmax(x, __shfl_xor_sync(0xffffffffu, x, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = x;
  __syncthreads();
  double r = red[0];
  for (int w = 1; w < (int)(blockDim.x >> 5); w++) r = fmax(r, red[w]);
  return r;
}

__device__ double block_sum(double x, double* red) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = x;
  __syncthreads();
  double r = 0;
  for (int w = 0; w < (int)(blockDim.x >> 5); w++) r += red[w];
  return r;
}

}  // namespace fsk_list

extern "C" __global__ void __launch_bounds__(FSK_LIST_THREADS) flashspark_list_attention(
    int rows, const float* q, const int* q_off, const uint32_t* q_rv, const uint32_t* q_ev,
    const float* k, const int* k_outer, const int* k_inner, const uint32_t* k_rv, const uint32_t* k_vv,
    const uint32_t* k_ev, const float* v, const int* v_outer, const int* v_inner, const uint32_t* v_rv,
    const uint32_t* v_vv, const uint32_t* v_ev, const double* s, const uint32_t* s_v, float* o, double* lse,
    uint32_t* out_valid, double* scores, unsigned long long* rank, long long* first_bad,
    unsigned long long* nulls) {
  using namespace fsk_list;
  __shared__ unsigned long long best;
  __shared__ double red[FSK_LIST_THREADS / 32];
  const int row = blockIdx.x;
  if (row >= rows) return;
  const long long qa = q_off[row];
  const int d = q_off[row + 1] - q_off[row];
  if (!bit(q_rv, row) || !bit(k_rv, row) || !bit(v_rv, row)) {  // a null argument: a null result
    for (int c = threadIdx.x; c < d; c += blockDim.x) o[qa + c] = 0.f;
    if (threadIdx.x == 0) {
      lse[row] = 0.0;
      rank[row] = 0;
      atomicAdd(nulls, 1ull);
    }
    return;
  }
  const int M = k_outer[row + 1] - k_outer[row];
  const int Mv = v_outer[row + 1] - v_outer[row];
  const bool has_scale = bit(s_v, row);
  const double sc_in = has_scale ? s[row] : 0.0;
  if (threadIdx.x == 0) {
    unsigned long long r = ~0ull;
    if (d == 0) r = problem_rank(0, 0, 0, 0);
    else if (M == 0) r = problem_rank(1, 0, 0, 0);
    else if (Mv != M) r = problem_rank(2, 0, 0, 0);
    else if (has_scale && !(sc_in > 0 && isfinite(sc_in))) r = problem_rank(3, 0, 0, 0);
    best = r;
  }
  __syncthreads();
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    if (bad_value(q, q_ev, qa + c)) { atomicMin(&best, problem_rank(0, 0, 0, 1 + c)); break; }
  }
  __syncthreads();
  if (best == ~0ull) {  // keys then values, vector by vector, as the row path reads them
    // interleaved order (keys j, values j) is what the row path checks; rank orders (j, which) the same way
    check_vectors(&best, M, k_outer[row], d, k_inner, k, k_vv, k_ev, 0);
    __syncthreads();
    check_vectors(&best, M, v_outer[row], d, v_inner, v, v_vv, v_ev, 1);
  }
  __syncthreads();
  if (best != ~0ull) {
    for (int c = threadIdx.x; c < d; c += blockDim.x) o[qa + c] = 0.f;
    if (threadIdx.x == 0) {
      rank[row] = best + 1;  // 0 stays "no problem"
      atomicMin(first_bad, (long long)row);
    }
    return;
  }
  if (threadIdx.x == 0) {
    rank[row] = 0;
    atomicOr(&out_valid[row >> 5], 1u << (row & 31));
  }
  const double scale = has_scale ? sc_in : 1.0 / sqrt((double)d);
  const long long kv0 = k_outer[row], vv0 = v_outer[row];
  double* sj = scores + kv0;
  double mx = -INFINITY;
  for (int j = threadIdx.x; j < M; j += blockDim.x) {
    const float* kj = k + k_inner[kv0 + j];
    double acc = 0.0;
    for (int c = 0; c < d; c++) acc = fma((double)q[qa + c], (double)kj[c], acc);
    acc *= scale;
    sj[j] = acc;
    mx = fmax(mx, acc);
  }
  mx = block_max(mx, red);
  double l = 0.0;
  for (int j = threadIdx.x; j < M; j += blockDim.x) {
    const double p = exp(sj[j] - mx);
    sj[j] = p;
    l += p;
  }
  l = block_sum(l, red);  // its barriers also publish sj[] to the whole block
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    double acc = 0.0;
    for (int j = 0; j < M; j++) acc = fma(sj[j], (double)v[v_inner[vv0 + j] + c], acc);
    o[qa + c] = (float)(acc / l);
  }
  if (threadIdx.x == 0) lse[row] = mx + log(l);
}
