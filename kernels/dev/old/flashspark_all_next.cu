// Earlier version kept for A/B timing (NEXT (unmeasured): d64 path loads the next tile during the S GEMM, one barrier per tile). Build with -Ikernels/src.
#include "flash_fwd_next_untested.cu"
#include "../../src/flash_merge.cu"
#include "../../src/convert.cu"
