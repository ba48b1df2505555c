#include "backend/cpu/quantize_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace llm {
namespace cpu {

size_t int8_packed_bytes(const WeightMatrix& W, int panel, bool pairs) {
  const size_t padded = static_cast<size_t>((W.rows + panel - 1) / panel) * panel;
  const size_t k = pairs ? static_cast<size_t>((W.cols + 1) / 2 * 2) : static_cast<size_t>(W.cols);
  return padded * k + padded * sizeof(float);
}

void quantize_int8_panels(const WeightMatrix& W, int panel, int64_t p_begin, int64_t p_end, void* dst,
                          void (*to_f32)(DType, const void*, float*, int64_t), bool pairs) {
  const int64_t K = W.cols, K2 = pairs ? (K + 1) / 2 * 2 : K;
  int8_t* q = static_cast<int8_t*>(dst);
  const int64_t padded = (W.rows + panel - 1) / panel * panel;
  float* scales = reinterpret_cast<float*>(q + padded * K2);
  // Where weight (row j of the panel, k) goes within its panel.
  auto at = [&](int j, int64_t k) { return pairs ? (k / 2 * panel + j) * 2 + k % 2 : k * panel + j; };
  const size_t esz = dtype_size(W.dtype);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t p = p_begin; p < p_end; ++p) {
    int8_t* out = q + p * K2 * panel;
    for (int j = 0; j < panel; ++j) {
      const int64_t r = p * panel + j;
      if (K2 > K) out[at(j, K)] = 0;  // the pairs layout's padding column
      if (r >= W.rows) {
        for (int64_t k = 0; k < K; ++k) out[at(j, k)] = 0;
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
        out[at(j, k)] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
      }
    }
  }
}

}  // namespace cpu
}  // namespace llm
