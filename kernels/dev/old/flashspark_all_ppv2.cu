// Earlier version kept for A/B timing (ping-pong v2: deferred P.V wait, loads before the GEMM). Build with -Ikernels/src.
#include "flash_fwd_ppv2.cu"
#include "../../src/flash_merge.cu"
#include "../../src/convert.cu"
