// The packed GEMM for int4 weights (quantize_int4.h): activations quantized to int8 per token and
// group, exact int32 sums per group, one f32 accumulation over the groups in k order.
#pragma once

#include <cstdint>

#include "backend/cpu/kernels.h"
#include "backend/cpu/quantize_int4.h"

namespace llm {
namespace cpu {

bool cpu_has_avx512_vnni();

// As Kernels::gemm_packed for W.dtype == DType::I4; o_begin a multiple of W.panel. W.panel 32 runs
// the AVX-512 VNNI kernel (the CPU must have it), 16 the AVX2 one.
void gemm_int4(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin, int64_t o_end,
               float* Y, int64_t ldy);

// The same on activations already quantized (rows [0, T) of x, K = W.cols): what a caller that
// applies several int4 weights to one input uses, so that the input is quantized once.
void gemm_int4_rows(const Int4Rows& x, int64_t T, const PackedMatrix& W, int64_t o_begin, int64_t o_end, float* Y,
                    int64_t ldy);

}  // namespace cpu
}  // namespace llm
