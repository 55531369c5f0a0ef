/*
 * Device helpers shared by the flashspark kernels: 16-byte cp.async with zero fill, ldmatrix (plain and
 * transposed), mma.sync m16n8k16 (bf16/fp16 in, fp32 accumulate), packing two fp32 into a 16-bit pair
 * (round to nearest even), and exp2 via ex2.approx or a polynomial. No memory of their own; the numerical contract is
 * the forward kernel's (flash_fwd.cu).
 */
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace fsk {

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}

template <bool BF16>
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
  if (BF16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <bool BF16>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if (BF16) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  } else {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// 2^x on the FMA and integer pipes instead of the MUFU unit (16 ex2 per clock per SM, the bound of a d64
// softmax), for x <= 0 (scores minus their row max): x clamped at -127 (NaN kept), split into j = floor(x)
// (a round-down add of 1.5 * 2^23 leaves j in the low mantissa bits) and f in [0, 1); 2^f from a degree-3
// polynomial (relative error < 8.6e-5: a sixth of fp16's rounding and 1/45 of bf16's, below the 16-bit P
// it feeds); times 2^j built in the exponent field. exp2(-inf) is exactly 0 (j = -127, 2^j = 0), as
// ex2.approx.ftz gives; positive x a few ulps above 0 (rounding of the max's FFMA) is fine.
__device__ __forceinline__ float poly_exp2(float x) {
  float c;
  asm("max.NaN.f32 %0, %1, %2;\n" : "=f"(c) : "f"(x), "f"(-127.f));
  const float t = __fadd_rd(c, 12582912.f);
  const float f = c - (t - 12582912.f);
  const float p = fmaf(fmaf(fmaf(0.07706520f, f, 0.22764701f), f, 0.69511634f), f, 1.f);
  return p * __int_as_float((__float_as_int(t) << 23) + 0x3f800000);
}

}  // namespace fsk
