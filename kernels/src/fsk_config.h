/*
 * Tile sizes and launch constants of the forward kernels, defined once: the kernels compile from
 * them, and gen_properties.py reads them (each "#define FSK_NAME value" below) to write
 * kernels.properties, which the Java side launches by. Each may be overridden with -D for an
 * experiment (kernels/dev); the shipped values are these.
 */
#pragma once
// Launch contract, both code paths: FSK_THREADS threads per CTA, one CTA per tile of FSK_BLOCK_M rows.
#ifndef FSK_THREADS
#define FSK_THREADS 256
#endif
#ifndef FSK_BLOCK_M
#define FSK_BLOCK_M 128
#endif
// sm_90a wgmma path: keys per KV tile (BLOCK_N) for d64 and d128, and the ping-pong schedule per d.
#ifndef FSK_USE_WGMMA
#define FSK_USE_WGMMA 1
#endif
#ifndef FSK_WG_BN64
#define FSK_WG_BN64 64
#endif
#ifndef FSK_WG_BN128
#define FSK_WG_BN128 128
#endif
#ifndef FSK_WG_PP64
#define FSK_WG_PP64 0
#endif
#ifndef FSK_WG_PP128
#define FSK_WG_PP128 1
#endif
// Warp-specialised wgmma loop (fwd_sm90_ws.cuh): 1 when the sm_90a cubin runs it (else the loops
// above), its threads per CTA (one loader warpgroup + two compute warpgroups), keys per KV tile for
// d64 and d128, and the registers each kind of warpgroup keeps (setmaxnreg; 128 * producer +
// 256 * consumer must not exceed the 65536 of an SM).
#ifndef FSK_WG_WS
#define FSK_WG_WS 1
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
#ifndef FSK_WS_CONSUMER_FENCE
#define FSK_WS_CONSUMER_FENCE 1
#endif
#ifndef FSK_WS_SCHED
#define FSK_WS_SCHED 1
#endif
#ifndef FSK_WS_PRODUCER_REGS
#define FSK_WS_PRODUCER_REGS 56
#endif
#ifndef FSK_WS_CONSUMER_REGS
#define FSK_WS_CONSUMER_REGS 224
#endif
// CTAs per SM the d64 kernels are compiled for (launch bounds).
#ifndef FSK_D64_MINB
#define FSK_D64_MINB 1
#endif
// mma.sync path (sm_80 cubin, compute_90 PTX): keys per KV tile.
#ifndef FSK_MMA_BN
#define FSK_MMA_BN 64
#endif
// list_attention.cu (the SQL function's columnar path): threads per CTA, one CTA per row.
#define FSK_LIST_THREADS 128
