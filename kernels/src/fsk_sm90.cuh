/*
 * PTX wrappers of the sm_90a (Hopper) main loop, compiled for the sm_90a cubin only (FSK_HAS_WGMMA):
 * wgmma (descriptors, fences, commit/wait groups, the m64nNk16 calls of wgmma_gen.inc), the
 * 128-byte-swizzled tile addressing, the generic-to-async proxy fence, mbarriers, named barriers and
 * setmaxnreg. No memory of their own; the numerical contract is the forward kernel's (flash_fwd.cu).
 */
#pragma once
#include <stdint.h>

namespace fsk {

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

__device__ __forceinline__ void mbar_init(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Waits until the phase of the given parity has completed (a fresh barrier counts parity 1 as done).
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\n"
      "WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT_%=;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
// Named barriers 1 and 2 order the two compute warpgroups' tensor-core work (barrier 0 is __syncthreads).
__device__ __forceinline__ void named_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
template <int N>
__device__ __forceinline__ void set_max_regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N)); }
template <int N>
__device__ __forceinline__ void set_max_regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N)); }

// The executing thread's arrival on `bar`, made when all of its earlier cp.async copies have landed
// (noinc: the arrival counts against the barrier's expected count).
__device__ __forceinline__ void mbar_arrive_on_copies(uint32_t bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
#endif  // sm_90a
}  // namespace fsk
