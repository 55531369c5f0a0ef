// Earlier version kept for A/B timing (ping-pong v1: P.V waited immediately). Build with -Ikernels/src.
#include "flash_fwd_ppv1.cu"
#include "../../src/flash_merge.cu"
#include "../../src/convert.cu"
