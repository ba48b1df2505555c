#include "backend/cpu/ops.h"

#include <cmath>

namespace llm {
namespace cpu {

void rmsnorm_rows(const float* x, const float* w, float* y, int rows, int n, float eps) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * n;
    float* yr = y + static_cast<int64_t>(r) * n;
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(ss / n) + eps);
    for (int i = 0; i < n; ++i) yr[i] = w[i] * (xr[i] * scale);
  }
}

void rope_tables(const int32_t* positions, int T, const float* inv_freq, int half, float* cos_out, float* sin_out) {
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < half; ++i) {
      const float angle = static_cast<float>(positions[t]) * inv_freq[i];
      cos_out[static_cast<int64_t>(t) * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_out[static_cast<int64_t>(t) * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
}

void apply_rope(float* x, int rows, int heads, int head_dim, const float* cos_t, const float* sin_t) {
  const int half = head_dim / 2;
  for (int t = 0; t < rows; ++t) {
    const float* c = cos_t + static_cast<int64_t>(t) * half;
    const float* s = sin_t + static_cast<int64_t>(t) * half;
    for (int h = 0; h < heads; ++h) {
      float* v = x + (static_cast<int64_t>(t) * heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
}

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace cpu
}  // namespace llm
