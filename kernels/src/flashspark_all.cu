// Single translation unit for the flashspark fatbin (nvcc -fatbin takes one input file).
#include "flash_fwd.cu"
#include "flash_merge.cu"
#include "convert.cu"
