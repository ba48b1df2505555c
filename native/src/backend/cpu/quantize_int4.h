// Weight-only int4 quantization of a Linear weight in groups of 32 along k (as llama.cpp's Q4_0):
// per group of one row, scale = m / -8 rounded to f16 (m the weight of largest magnitude; 18
// bytes per 32 weights, as Q4_0), q = round(w / scale)
// clamped to [-8, 7], stored as the nibble q + 8; W[o][k] ~ scale[o][g] * (nibble - 8). (A search
// for the scale of least squared error gained 3 % on the fixtures' weights and cost seconds of
// load time on a 1B model: not done.) The
// activations are quantized per token and group to int8 (scale = max |x| / 127) at each GEMM, and
// each group's products are summed exactly in int32 (VPDPBUSD, or VPMADDUBSW + VPMADDWD on AVX2),
// so every output is one f32 accumulation over the groups in k order: batch- and thread-invariant.
//
// Layout for a panel of P rows (the kernels' panel: 32 on AVX-512, 16 on AVX2) in two stripes of
// S = P / 2 rows, K padded with zeros to G groups of 32: for panel p, group g, stripe s, vector v
// (0..3), at byte offset ((p * G + g) * 2 + s) * 16 * S + v * 4 * S, byte j * 4 + b holds row
// p * P + s * S + j: its low nibble at k = 32 g + 4 v + b, its high nibble at k = 32 g + 4 (v + 4) + b.
// So one vector of 4 S bytes feeds S int32 lanes of 4 products each, twice (low and high nibbles).
// Then the f16 scales, [p][g][P] (padded rows: 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend/cpu/kernels.h"

namespace llm {
namespace cpu {

constexpr int kInt4Group = 32;

inline int64_t int4_groups(int64_t cols) { return (cols + kInt4Group - 1) / kInt4Group; }

size_t int4_packed_bytes(const WeightMatrix& W, int panel);

// Quantizes panels [p_begin, p_end) of W (f32, f16 or bf16) into dst (int4_packed_bytes(W, panel)
// bytes); to_f32 widens one source row.
void quantize_int4_panels(const WeightMatrix& W, int panel, int64_t p_begin, int64_t p_end, void* dst,
                          void (*to_f32)(DType, const void*, float*, int64_t));

// The group scales (f16 bits) of a matrix packed as above (W.dtype == DType::I4): [panel][group][W.panel].
inline const uint16_t* int4_scales(const PackedMatrix& W) {
  const int64_t panels = (W.rows + W.panel - 1) / W.panel;
  return reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(W.data) +
                                           panels * int4_groups(W.cols) * kInt4Group * W.panel / 2);
}

// One token's activations for the int4 GEMM: q[G * 32] int8 (zero-padded), per group the scale
// (max |x| / 127) and 8 * sum(q) (the weights' +8 offset, taken out of each group's int32 sum).
struct Int4Activations {
  int8_t* q;
  float* scale;
  int32_t* offset;
};
void quantize_int4_activations(const float* x, int64_t K, Int4Activations out);

// The activations of a batch of tokens, quantized once for every int4 GEMM that reads them:
// token t's row at q + t * kpad, its group scales and offsets at t * groups.
struct Int4Rows {
  std::vector<int8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> offset;
  int64_t kpad = 0, groups = 0;

  // Room for `tokens` rows of K activations (kept when it suffices).
  void resize(int64_t tokens, int64_t K);
  // Quantizes rows [t_begin, t_end) of X (rows ldx apart); rows are independent, so threads may
  // share the work.
  void quantize(const float* X, int64_t ldx, int64_t K, int64_t t_begin, int64_t t_end);
};

}  // namespace cpu
}  // namespace llm
