// The packed GEMM for int8 weights on CPUs with AVX512_BF16: weights in k-pair-interleaved panels
// (quantize_int8.h, pairs layout) are widened to bf16 pairs and multiplied with the activations
// rounded to bf16 pairs by VDPBF16PS (two products per f32 lane, f32 accumulation in k order),
// then scaled per row. Twice the multiplies per instruction of the f32 FMA path, for the price
// of bf16 activations (~2^-9 relative each) on top of the int8 weights' own error.
#pragma once

#include <cstdint>

#include "backend/cpu/kernels.h"

namespace llm {
namespace cpu {

bool cpu_has_avx512_bf16();

// As Kernels::gemm_packed for W.dtype == DType::I8 in the pairs layout; o_begin a multiple of W.panel (32).
void gemm_int8_pairs(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin, int64_t o_end,
                     float* Y, int64_t ldy);

}  // namespace cpu
}  // namespace llm
