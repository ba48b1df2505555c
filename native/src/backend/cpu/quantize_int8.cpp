#include "backend/cpu/quantize_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace llm {
namespace cpu {

size_t int8_packed_bytes(const WeightMatrix& W, int panel) {
  const size_t padded = static_cast<size_t>((W.rows + panel - 1) / panel) * panel;
  return padded * static_cast<size_t>(W.cols) + padded * sizeof(float);
}

void quantize_int8_panels(const WeightMatrix& W, int panel, int64_t p_begin, int64_t p_end, void* dst,
                          void (*to_f32)(DType, const void*, float*, int64_t)) {
  const int64_t K = W.cols;
  int8_t* q = static_cast<int8_t*>(dst);
  const int64_t padded = (W.rows + panel - 1) / panel * panel;
  float* scales = reinterpret_cast<float*>(q + padded * K);
  const size_t esz = dtype_size(W.dtype);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t p = p_begin; p < p_end; ++p) {
    int8_t* out = q + p * K * panel;
    for (int j = 0; j < panel; ++j) {
      const int64_t r = p * panel + j;
      if (r >= W.rows) {
        for (int64_t k = 0; k < K; ++k) out[k * panel + j] = 0;
        scales[r] = 0.0f;
        continue;
      }
      to_f32(W.dtype, static_cast<const char*>(W.data) + static_cast<size_t>(r) * K * esz, row.data(), K);
      float amax = 0.0f;
      for (float v : row) amax = std::max(amax, std::fabs(v));
      const float scale = amax / 127.0f;
      scales[r] = scale;
      for (int64_t k = 0; k < K; ++k) {
        const float v = scale > 0.0f ? std::nearbyint(row[k] / scale) : 0.0f;
        out[k * panel + j] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
      }
    }
  }
}

}  // namespace cpu
}  // namespace llm
