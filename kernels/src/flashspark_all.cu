// Single translation unit for the flashspark fatbin (nvcc -fatbin takes one input file).
#include "flash_fwd.cu"
#include "convert.cu"
#include "list_attention.cu"
