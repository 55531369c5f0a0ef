/*
 * The forward main loop on wgmma with warp specialisation (sm_90a cubin only): fwd_ws.
 *
 * TILING: 384 threads = three warpgroups. Warpgroup 0 only loads (warps 0-1 Q and K, warps 2-3 V,
 *   cp.async 16-byte copies into the 128-byte-swizzled wgmma layout) and gives most of its registers
 *   away (setmaxnreg); warpgroups 1 and 2 only compute, 64 query rows each (BLOCK_M 128), with up to
 *   FSK_WS_CONSUMER_REGS registers: S = Q K^T (wgmma m64n{BN}k16, both operands from shared memory),
 *   O += P V (wgmma m64n{D}k16, P from registers). K and V have FSK_WS_STAGES stages each, handed over through
 *   mbarriers (full: the loaders' copies landed; empty: both compute warpgroups are done with it), so
 *   there is no CTA-wide barrier in the loop. Inside a compute warpgroup the softmax of tile j runs
 *   while the tensor cores do P_{j-1} V_{j-1} (issued together with S_j):
 *     S_j = Q K_j^T ; O += P_{j-1} V_{j-1} ; wait S_j ; softmax(S_j) ; wait PV ; O *= alpha_j ; P_j = pack
 *   and the two compute warpgroups take turns issuing their GEMMs (named barriers 1 and 2), so the
 *   tensor cores run one warpgroup's GEMMs while the other does its softmax.
 *   Work tiles: a CTA takes one tile in each round of gridDim.x tiles, rounds walked forward and
 *   backward in turn (launched persistent, one wave of resident CTAs; or one CTA per tile). The K/V stages run on from one work tile into the next
 *   (KV tiles counted across them), and Q has an empty barrier released by the tile's last S GEMM,
 *   so the loader brings the next tile's Q and first K/V tiles while the compute warpgroups do this
 *   tile's last P V and write its rows.
 *   Shared memory: Q BM*D*2 + STAGES K + STAGES V tiles of BN*D*2 bytes (d128/BN128, 2 stages: 160 KiB, +1 KiB
 *   alignment slack).
 * HBM TRAFFIC: as flash_fwd.cu's header (Q once, K and V once per query tile, O fp32 once).
 * NUMERICAL CONTRACT: flash_fwd.cu's header; the same masking (fsk_mask.cuh), online softmax
 *   (fsk_softmax.cuh) and epilogue (fsk_epilogue.cuh) as the mma.sync loop; O is rescaled after
 *   P_{j-1} V_{j-1} has been added instead of before P_j V_j (the same products; the tensor cores'
 *   summation order differs, so the two loops agree within rounding, not bit for bit).
 * Hand-over: each loader thread's copies of a tile arrive on its full barrier as they land
 *   (cp.async.mbarrier.arrive.noinc); a compute warpgroup waits on it and fences the async proxy
 *   (fence.proxy.async) before its wgmma reads the tile.
 */
#pragma once
#include "fsk_device.cuh"
#include "fsk_sm90.cuh"
#include "fsk_epilogue.cuh"
#include "fsk_mask.cuh"
#include "fsk_softmax.cuh"
#include "fsk_tile.cuh"

namespace fsk {
#if defined(FSK_HAS_WGMMA)

template <bool B>
struct Flag {
  static constexpr bool value = B;
};

// Copies rows [0, R) of a [rows][D] 16-bit matrix, starting at row `row0` of `base`, into a swizzled
// [D/64][R][64] tile, as 64 threads (lt = 0..63): thread lt copies 16-byte chunk lt % 8 of every
// 64-column block for rows lt / 8 + 8 i, so its swizzle term ((chunk ^ row) & 7) is one constant and
// every address is a fixed offset from two bases. Rows at or past `valid` are zero-filled, not read.
template <int R, int D>
__device__ __forceinline__ void load_tile64(uint32_t dst, const uint16_t* __restrict__ base, long long row0,
                                            long long valid, int lt) {
  const int r0 = lt >> 3, c = lt & 7;
  const uint32_t d0 = dst + (uint32_t)(r0 * 128 + ((c ^ r0) << 4));
  const uint16_t* s0 = base + (row0 + r0) * D + c * 8;
  const int nvalid = valid < R ? (int)valid : R;
#pragma unroll 4
  for (int i = 0; i < R / 8; ++i) {
    const bool ok = r0 + 8 * i < nvalid;
#pragma unroll
    for (int b = 0; b < D / 64; ++b)
      cp_async16(d0 + (uint32_t)((b * R + 8 * i) * 128), ok ? s0 + 8 * i * D + b * 64 : base, ok ? 16 : 0);
  }
}

template <int D, int BN, bool CAUSAL, bool BF16>
__device__ __forceinline__ void fwd_ws(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k,
                                       const uint16_t* __restrict__ v, float* __restrict__ o,
                                       float* __restrict__ m_out, float* __restrict__ l_out,
                                       const long long* __restrict__ segments, const int* __restrict__ key_limit,
                                       const int* __restrict__ tiles, int num_tiles, float scale) {
  constexpr int BM = 128;
  constexpr int NT = BN / 8;
  constexpr int DT = D / 8;
  constexpr int TILE_B = BN * D * 2;  // bytes of one K or V tile
  static_assert(D == 64 || D == 128, "wgmma path: D 64 or 128");
  constexpr int POLY_EVERY = D == 64 ? FSK_EXP2_POLY_EVERY_D64 : FSK_EXP2_POLY_EVERY_D128;
  static_assert(BN == 64 || BN == 128, "wgmma path: BN 64 or 128");

  constexpr int ST = FSK_WS_STAGES;    // K and V stages
  extern __shared__ __align__(128) unsigned char smem_raw[];
  __shared__ __align__(8) uint64_t bars[2 + 4 * ST];
  const uint32_t sbase = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sQa = sbase, sKa = sQa + BM * D * 2, sVa = sKa + ST * TILE_B;
  // barriers: Q full, Q empty, then per stage K full, K empty, V full, V empty
  const uint32_t bQ = smem_u32(&bars[0]);
  const uint32_t bQe = smem_u32(&bars[1]);
  auto bKf = [&](int s) { return smem_u32(&bars[2 + s]); };
  auto bKe = [&](int s) { return smem_u32(&bars[2 + ST + s]); };
  auto bVf = [&](int s) { return smem_u32(&bars[2 + 2 * ST + s]); };
  auto bVe = [&](int s) { return smem_u32(&bars[2 + 3 * ST + s]); };
  // KV tiles are counted across the CTA's work tiles (kv = tiles loaded before this work tile), so
  // the pipeline runs on from one work tile into the next: KV tile i lives in stage i % ST, and its
  // use of that stage is the (i / ST)-th, hence the phase parity
  auto stage = [](int i) { return i % ST; };
  auto parity = [](int i) { return (uint32_t)((i / ST) & 1); };

  const int tid = threadIdx.x;
  const int wg = tid >> 7;
  // The CTA's r-th work tile: rounds of gridDim.x tiles, taken in turn forward and backward, so that
  // over two rounds of a heaviest-first (causal) list every CTA gets about the same work; with one
  // CTA per tile, tile blockIdx.x. Past the list's end a CTA skips (decode_tile says no work).
  auto nth_tile = [&](int r) {
    const int b = (r & 1) ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
    return r * (int)gridDim.x + b;
  };

  if (tid == 0) {
    mbar_init(bQ, 64);
    mbar_init(bQe, 8);  // one arrival per compute warp once its last S GEMM has read Q
#pragma unroll
    for (int s = 0; s < ST; ++s) {
      mbar_init(bKf(s), 64);
      mbar_init(bVf(s), 64);
      mbar_init(bKe(s), 8);  // one arrival per compute warp
      mbar_init(bVe(s), 8);
    }
  }
  __syncthreads();

  if (wg == 0) {
    // ---------------- producer warpgroup: warps 0-1 load Q then K, warps 2-3 load V
    set_max_regs_dec<FSK_WS_PRODUCER_REGS>();
    const int lt = tid & 63;
    const bool k_side = tid < 64;
    const uint16_t* __restrict__ src = k_side ? k : v;
    const uint32_t tiles_a = k_side ? sKa : sVa;
    int kv = 0, qn = 0;  // KV tiles and Q tiles loaded so far
    for (int r = 0; r * (int)gridDim.x < num_tiles; ++r) {
      const int tile = nth_tile(r);
      TileWork w;
      if (!decode_tile<BM, BN, CAUSAL>(segments, tiles, key_limit, tile, num_tiles, w) || w.n_kv_tiles == 0)
        continue;
      // Each loader thread's copies arrive on the tile's full barrier when they land; the compute side
      // fences the async proxy after its wait. The next work tile's Q and first K/V tiles load while
      // the compute warpgroups finish this one (its last P V, its epilogue).
      if (k_side) {
        if (qn > 0) mbar_wait(bQe, (uint32_t)((qn - 1) & 1));
        load_tile64<BM, D>(sQa, q, w.q_row0 + w.row0, w.rows_here, lt);
        mbar_arrive_on_copies(bQ);
      }
      ++qn;
      for (int jt = 0; jt < w.n_kv_tiles; ++jt) {
        const int s = stage(kv + jt);
        mbar_wait(k_side ? bKe(s) : bVe(s), parity(kv + jt) ^ 1);
        const long long j0 = (long long)jt * BN;
        load_tile64<BN, D>(tiles_a + s * TILE_B, src, w.k_row0 + j0, w.k_len - j0, lt);
        mbar_arrive_on_copies(k_side ? bKf(s) : bVf(s));
      }
      kv += w.n_kv_tiles;
    }
    cp_async_wait<0>();  // copies in flight must land before the warp exits
    return;
  }

  // ---------------- compute warpgroups 1 and 2: 64 query rows each
  set_max_regs_inc<FSK_WS_CONSUMER_REGS>();
  // the compute warpgroup's index, broadcast from lane 0 so the compiler knows it is warp-uniform and
  // builds the wgmma descriptors in uniform registers
  const int cw = __shfl_sync(0xffffffffu, wg - 1, 0);
  const int warp = (tid >> 5) & 3, lane = tid & 31;
  const int g = lane >> 2, t = lane & 3;
  const int myrow = cw * 64 + warp * 16 + g;  // rows myrow and myrow + 8 of the tile
  const float sl2 = scale * 1.4426950408889634f;
  // wgmma descriptors: one base each, tile and k-step offsets added to the address field (addresses
  // stay below 256 KiB, so the 14-bit field never carries into the strides)
  const uint64_t dq0 = gmma_desc(sQa + cw * 64 * 128, 16, 1024);
  const uint64_t dk0 = gmma_desc(sKa, 16, 1024);
  const uint64_t dv0 = gmma_desc(sVa, BN * 128, 1024);
  // Turn-taking (FSK_WS_SCHED): a warpgroup issues its GEMMs only after the other one issued its
  // own, so one's softmax runs while the tensor cores do the other's GEMMs. Warpgroup 1 goes first;
  // both take the same number of turns in every work tile, so the alternation runs on across tiles.
  auto my_turn = [&]() {
    if (FSK_WS_SCHED) named_sync(1 + cw, 256);
  };
  auto your_turn = [&]() {
    if (FSK_WS_SCHED) named_arrive(2 - cw, 256);
  };
  if (FSK_WS_SCHED && cw == 1) named_arrive(1, 256);

  int kv = 0, qn = 0;  // KV tiles and Q tiles consumed so far (the loader's counters)
  for (int r = 0; r * (int)gridDim.x < num_tiles; ++r) {
    const int tile = nth_tile(r);
    TileWork w;
    if (!decode_tile<BM, BN, CAUSAL>(segments, tiles, key_limit, tile, num_tiles, w)) continue;
    const int n_kv_tiles = w.n_kv_tiles;
    int jmax_r[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) jmax_r[h] = row_last_key<CAUSAL>(key_limit, w, myrow + 8 * h);

    float acc_o[DT * 4];
#pragma unroll
    for (int i = 0; i < DT * 4; ++i) acc_o[i] = 0.f;
    float row_m[2] = {-INFINITY, -INFINITY}, row_l[2] = {0.f, 0.f};

    if (n_kv_tiles > 0) {
      float s[NT * 4];
      uint32_t pa[BN / 16][4];
      auto issue_s = [&](int jt) {
        const uint64_t dk = dk0 + ((stage(kv + jt) * TILE_B) >> 4);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
          const uint64_t da = dq0 + (((kk >> 2) * BM * 128 + (kk & 3) * 32) >> 4);
          const uint64_t db = dk + (((kk >> 2) * BN * 128 + (kk & 3) * 32) >> 4);
          wg_ss<BN, BF16>(s, da, db, kk > 0 ? 1 : 0);
        }
        wg_commit();
      };
      auto issue_pv = [&](int jt) {
        const uint64_t dv = dv0 + ((stage(kv + jt) * TILE_B) >> 4);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) wg_rs<D, BF16>(acc_o, pa[kk], dv + ((kk * 16 * 128) >> 4));
        wg_commit();
      };
      // MASKED: the tile holds keys past some row's last visible key (causal diagonal, ragged tail);
      // the tiles before the first such one run without the element-wise mask (compiled out).
      auto softmax = [&](int jt, float* alpha, auto masked) {
        if (decltype(masked)::value) mask_scores<NT>(s, jt * BN, t, jmax_r);
        online_softmax<NT, POLY_EVERY>(s, row_m, row_l, alpha, sl2);
      };
      auto pack_p = [&]() {
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
          pa[kk][0] = pack2<BF16>(s[(2 * kk) * 4 + 0], s[(2 * kk) * 4 + 1]);
          pa[kk][1] = pack2<BF16>(s[(2 * kk) * 4 + 2], s[(2 * kk) * 4 + 3]);
          pa[kk][2] = pack2<BF16>(s[(2 * kk + 1) * 4 + 0], s[(2 * kk + 1) * 4 + 1]);
          pa[kk][3] = pack2<BF16>(s[(2 * kk + 1) * 4 + 2], s[(2 * kk + 1) * 4 + 3]);
        }
      };
      auto pin_s = [&]() {
#pragma unroll
        for (int i = 0; i < NT * 4; ++i) reg_fence(s[i]);
      };
      auto pin_o = [&]() {
#pragma unroll
        for (int i = 0; i < DT * 4; ++i) reg_fence(acc_o[i]);
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
          for (int e = 0; e < 4; ++e) reg_fence(pa[kk][e]);
      };

      auto consumer_fence = [&]() {
        if (FSK_WS_CONSUMER_FENCE) fence_proxy_async();
      };
      // the last S GEMM of the work tile has read Q: the loader may bring the next tile's
      auto release_q = [&](int jt) {
        if (jt == n_kv_tiles - 1 && lane == 0) mbar_arrive(bQe);
      };

      mbar_wait(bQ, (uint32_t)(qn & 1));
      consumer_fence();
      // tile 0: S_0 and its softmax, nothing to overlap yet
      mbar_wait(bKf(stage(kv)), parity(kv));
      consumer_fence();
      my_turn();
      issue_s(0);
      your_turn();
      wg_wait<0>();
      pin_s();
      if (lane == 0) mbar_arrive(bKe(stage(kv)));
      release_q(0);
      // tiles [0, n_plain) need no mask
      const long long plain = (w.jmax_first + 1) / BN;
      const int n_plain = plain < 0 ? 0 : (plain < n_kv_tiles ? (int)plain : n_kv_tiles);
      {
        float alpha[2];
        if (n_plain > 0) softmax(0, alpha, Flag<false>());
        else softmax(0, alpha, Flag<true>());
      }
      pack_p();
      auto step = [&](int jt, auto masked) {
        const int s_now = stage(kv + jt), s_prev = stage(kv + jt - 1);
        mbar_wait(bKf(s_now), parity(kv + jt));
        mbar_wait(bVf(s_prev), parity(kv + jt - 1));
        consumer_fence();
        my_turn();
        issue_s(jt);
        issue_pv(jt - 1);
        your_turn();
        wg_wait<1>();  // S_j landed; P_{j-1} V_{j-1} may still run
        pin_s();
        if (lane == 0) mbar_arrive(bKe(s_now));
        release_q(jt);
        float alpha[2];
        softmax(jt, alpha, masked);
        wg_wait<0>();
        pin_o();
        if (lane == 0) mbar_arrive(bVe(s_prev));
        if (__any_sync(0xffffffffu, (alpha[0] != 1.f) | (alpha[1] != 1.f))) rescale_rows<DT>(acc_o, alpha);
        pack_p();
      };
      int jt = 1;
      for (; jt < n_plain; ++jt) step(jt, Flag<false>());
      for (; jt < n_kv_tiles; ++jt) step(jt, Flag<true>());
      const int last = n_kv_tiles - 1;
      mbar_wait(bVf(stage(kv + last)), parity(kv + last));
      consumer_fence();
      my_turn();
      issue_pv(last);
      your_turn();
      wg_wait<0>();
      pin_o();
      if (lane == 0) mbar_arrive(bVe(stage(kv + last)));
      kv += n_kv_tiles;
      ++qn;
    }

    store_rows<D>(acc_o, row_m, row_l, cw * 64 + warp * 16, g, t, w.rows_here, w.q_row0 + w.row0, o, m_out, l_out,
                  scale);
  }
  if (FSK_WS_SCHED && cw == 0) named_sync(1, 256);  // takes warpgroup 2's last turn, leaving both barriers clear
}
#endif  // FSK_HAS_WGMMA
}  // namespace fsk
