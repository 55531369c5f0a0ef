/*
 * Work decoding, shared by every main loop: a CTA's work tile -> its segment, its first query row,
 * how many of the segment's keys its rows may see, and each row's last visible key. One concern:
 * what a CTA computes, not how (the loops in fwd_sm80.cuh / fwd_sm90.cuh).
 * Inputs (launch contract in flash_fwd.cu): tiles[2 t] = segment, tiles[2 t + 1] = first query row
 * within it; a segment is 6 int64 {q_row0, q_len, k_row0, k_len, -, -}; key_limit[q_row] = index,
 * within the segment's keys, of the last key at a position <= the row's (-1 if none), from the
 * rows' positions (sparse positions need no extra segments).
 */
#pragma once

namespace fsk {

struct TileWork {
  long long q_row0, q_len, k_row0, k_len;  // the segment
  long long row0;        // the tile's first query row within the segment
  long long rows_here;   // query rows of the tile (BM but for a segment's last tile)
  long long jmax_first;  // last key visible to the tile's first row (the fewest when causal)
  int n_kv_tiles;        // KV tiles of BN keys that some row of the tile sees
};

// Last visible key of segment row i (rows past the segment's end clamp to its last row).
__device__ __forceinline__ long long key_limit_of(const int* __restrict__ key_limit, const TileWork& w, long long i) {
  return (long long)key_limit[w.q_row0 + (i < w.q_len ? i : w.q_len - 1)];
}

// Decodes work tile `tile`; false when the CTA has nothing to do (past the last tile, or a tile
// entry outside its segment). Causal tiles stop at the last KV tile their last row sees.
template <int BM, int BN, bool CAUSAL>
__device__ __forceinline__ bool decode_tile(const long long* __restrict__ segments, const int* __restrict__ tiles,
                                            const int* __restrict__ key_limit, int tile, int num_tiles,
                                            TileWork& w) {
  if (tile >= num_tiles) return false;
  const int seg = tiles[2 * tile];
  w.row0 = tiles[2 * tile + 1];
  const long long* sg = segments + 6 * (long long)seg;
  w.q_row0 = sg[0];
  w.q_len = sg[1];
  w.k_row0 = sg[2];
  w.k_len = sg[3];
  if (w.row0 >= w.q_len || w.row0 < 0) return false;
  w.rows_here = (w.q_len - w.row0) < BM ? (w.q_len - w.row0) : BM;
  long long n_keys = w.k_len;
  w.jmax_first = w.k_len - 1;
  if (CAUSAL) {
    const long long lim_last = key_limit_of(key_limit, w, w.row0 + w.rows_here - 1);
    if (lim_last + 1 < n_keys) n_keys = lim_last + 1 < 0 ? 0 : lim_last + 1;
    const long long lim_first = key_limit_of(key_limit, w, w.row0);
    if (lim_first < w.jmax_first) w.jmax_first = lim_first < -1 ? -1 : lim_first;
  }
  w.n_kv_tiles = (int)((n_keys + BN - 1) / BN);
  return true;
}

// Last visible key of tile row r (segment row row0 + r): the segment's last key unless causal.
template <bool CAUSAL>
__device__ __forceinline__ int row_last_key(const int* __restrict__ key_limit, const TileWork& w, long long r) {
  long long jm = w.k_len - 1;
  if (CAUSAL) {
    const long long lim = key_limit_of(key_limit, w, w.row0 + r);
    if (lim < jm) jm = lim < -1 ? -1 : lim;
  }
  return (int)jm;
}

}  // namespace fsk
