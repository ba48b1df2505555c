// Weight-only int8 quantization of a Linear weight for the packed GEMM: symmetric, one f32 scale
// per output row (scale = max |w| / 127, q = round(w / scale)), so W[o][k] ~ scale[o] * q[o][k]
// and each output is one f32 accumulation of x * q over k in order, times its row's scale.
// Layout for a panel width P: panels of P rows, the last zero-padded (scale 0), then one f32 scale
// per padded row. Within a panel either k-major ([K][P] int8, lane j = row p * P + j: the FMA
// kernels) or, with `pairs`, k-pair-interleaved ([K/2][P][2], K padded to even with zeros: the
// bf16 dot-product kernel, Kernels::int8_pairs).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/kernels.h"

namespace llm {
namespace cpu {

size_t int8_packed_bytes(const WeightMatrix& W, int panel, bool pairs);

// Quantizes panels [p_begin, p_end) of W (f32, f16 or bf16) into dst (int8_packed_bytes(W, panel)
// bytes); to_f32 widens one source row.
void quantize_int8_panels(const WeightMatrix& W, int panel, int64_t p_begin, int64_t p_end, void* dst,
                          void (*to_f32)(DType, const void*, float*, int64_t), bool pairs);

// The row scales of a matrix packed as above (W.dtype == DType::I8).
inline const float* int8_row_scales(const PackedMatrix& W, bool pairs) {
  const int64_t padded = (W.rows + W.panel - 1) / W.panel * W.panel;
  const int64_t k = pairs ? (W.cols + 1) / 2 * 2 : W.cols;
  return reinterpret_cast<const float*>(static_cast<const int8_t*>(W.data) + padded * k);
}

}  // namespace cpu
}  // namespace llm
