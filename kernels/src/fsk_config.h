/*
 * Tile sizes and launch constants of the forward kernels, defined once: the kernels compile from
 * them, and gen_properties.py reads them (each "#define FSK_NAME value" below) to write
 * kernels.properties, which the Java side launches by. Each may be overridden with -D for an
 * experiment (kernels/dev); the shipped values are these.
 */
#pragma once
// Both code paths: work tiles of FSK_BLOCK_M query rows; the mma.sync path runs FSK_THREADS threads
// per CTA, one CTA per tile (the sm_90a path FSK_WS_THREADS and a persistent grid, below).
#ifndef FSK_THREADS
#define FSK_THREADS 256
#endif
#ifndef FSK_BLOCK_M
#define FSK_BLOCK_M 128
#endif
// sm_90a: 1 when the sm_90a cubin runs the warp-specialised wgmma loop (fwd_sm90.cuh), 0 for the
// mma.sync loop there too (an experiment); its threads per CTA (one loader warpgroup + two compute
// warpgroups), keys per KV tile for d64 and d128, K and V stages, and the registers each kind of
// warpgroup keeps (setmaxnreg; 128 * producer + 256 * consumer must not exceed an SM's 65536).
#ifndef FSK_USE_WGMMA
#define FSK_USE_WGMMA 1
#endif
#ifndef FSK_WS_THREADS
#define FSK_WS_THREADS 384
#endif
#ifndef FSK_WS_BN64
#define FSK_WS_BN64 128
#endif
#ifndef FSK_WS_BN128
#define FSK_WS_BN128 128
#endif
#ifndef FSK_WS_STAGES
#define FSK_WS_STAGES 2
#endif
// the compute warpgroups take turns issuing their GEMMs (1), or not (0: measured 12 % slower at d128)
#ifndef FSK_WS_SCHED
#define FSK_WS_SCHED 1
#endif
// fence.proxy.async after each wait on a full barrier (costs nothing measurable; see fwd_sm90.cuh)
#ifndef FSK_WS_CONSUMER_FENCE
#define FSK_WS_CONSUMER_FENCE 1
#endif
// 1: the sm_90a kernels are launched persistent, at most as many CTAs as fit on the GPU at once
// (kernels.properties "persistent"), each taking one tile per round of gridDim.x tiles (rounds walked
// forward and backward in turn) with one K/V pipeline, so a tile's loads start under the previous
// tile's last GEMM and epilogue; 0: one CTA per tile. The kernel is the same either way (a CTA of a
// grid of num_tiles takes one tile); the launch differs.
#ifndef FSK_WS_PERSISTENT
#define FSK_WS_PERSISTENT 1
#endif
// 56/224: no spills (48 bytes of spills in the loader at 40)
#ifndef FSK_WS_PRODUCER_REGS
#define FSK_WS_PRODUCER_REGS 56
#endif
#ifndef FSK_WS_CONSUMER_REGS
#define FSK_WS_CONSUMER_REGS 224
#endif
// sm_90a: every Nth n8 tile of a KV tile's scores exponentiated by a polynomial on the FMA pipe instead of
// the MUFU unit (0: none), for d64 and d128 (fsk_softmax.cuh).
#ifndef FSK_EXP2_POLY_EVERY_D64
#define FSK_EXP2_POLY_EVERY_D64 0
#endif
#ifndef FSK_EXP2_POLY_EVERY_D128
#define FSK_EXP2_POLY_EVERY_D128 0
#endif
// mma.sync path (sm_80 cubin, compute_90 PTX): keys per KV tile.
#ifndef FSK_MMA_BN
#define FSK_MMA_BN 64
#endif
// list_attention.cu (the SQL function's columnar path): threads per CTA, one CTA per row.
#define FSK_LIST_THREADS 128
