#include "backend/cpu/quantize_int4.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace llm {
namespace cpu {

namespace {

// f32 -> f16 bits, round to nearest even (F16C: every CPU with the packed kernels has it).
__attribute__((target("f16c"))) uint16_t to_f16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

// Round to nearest even without a libm call, for |v| < 2^22 (our values are within +-128).
inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

}  // namespace

size_t int4_packed_bytes(const WeightMatrix& W, int panel) {
  const size_t panels = static_cast<size_t>((W.rows + panel - 1) / panel);
  const size_t groups = static_cast<size_t>(int4_groups(W.cols));
  return panels * groups * kInt4Group * panel / 2 + panels * groups * panel * sizeof(uint16_t);
}

void quantize_int4_panels(const WeightMatrix& W, int panel, int64_t p_begin, int64_t p_end, void* dst,
                          void (*to_f32)(DType, const void*, float*, int64_t)) {
  const int64_t K = W.cols, G = int4_groups(K);
  const int S = panel / 2;
  uint8_t* bytes = static_cast<uint8_t*>(dst);
  const int64_t panels = (W.rows + panel - 1) / panel;
  uint16_t* scales = reinterpret_cast<uint16_t*>(bytes + panels * G * kInt4Group * panel / 2);
  const size_t esz = dtype_size(W.dtype);
  std::vector<float> row(static_cast<size_t>(G * kInt4Group));
  std::vector<uint8_t> nib(static_cast<size_t>(G * kInt4Group));
  for (int64_t p = p_begin; p < p_end; ++p) {
    for (int i = 0; i < panel; ++i) {
      const int64_t r = p * panel + i;
      std::fill(row.begin(), row.end(), 0.0f);
      if (r < W.rows) to_f32(W.dtype, static_cast<const char*>(W.data) + static_cast<size_t>(r) * K * esz, row.data(), K);
      for (int64_t g = 0; g < G; ++g) {
        const float* w = row.data() + g * kInt4Group;
        float m = 0.0f;  // the weight of largest magnitude, with its sign: it maps to -8 exactly
        for (int k = 0; k < kInt4Group; ++k)
          if (std::fabs(w[k]) > std::fabs(m)) m = w[k];
        const uint16_t bits = to_f16(m / -8.0f);
        const float scale = f16_to_f32(bits);  // the weights are rounded against the scale as stored
        scales[(p * G + g) * panel + i] = bits;
        for (int k = 0; k < kInt4Group; ++k) {
          const float q = scale != 0.0f ? round_even(w[k] / scale) : 0.0f;
          nib[g * kInt4Group + k] = static_cast<uint8_t>(std::clamp(q, -8.0f, 7.0f) + 8.0f);
        }
      }
      // Scatter the row's nibbles into its stripe's vectors.
      const int s = i / S, j = i % S;
      for (int64_t g = 0; g < G; ++g) {
        uint8_t* base = bytes + ((p * G + g) * 2 + s) * 16 * S;
        const uint8_t* n = nib.data() + g * kInt4Group;
        for (int v = 0; v < 4; ++v)
          for (int b = 0; b < 4; ++b)
            base[v * 4 * S + j * 4 + b] = static_cast<uint8_t>(n[4 * v + b] | (n[4 * (v + 4) + b] << 4));
      }
    }
  }
}

void quantize_int4_activations(const float* x, int64_t K, Int4Activations out) {
  const int64_t G = int4_groups(K);
  for (int64_t g = 0; g < G; ++g) {
    const int64_t k0 = g * kInt4Group, n = std::min<int64_t>(kInt4Group, K - k0);
    float amax = 0.0f;
    for (int64_t k = 0; k < n; ++k) amax = std::max(amax, std::fabs(x[k0 + k]));
    const float scale = amax / 127.0f;
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    int32_t sum = 0;
    for (int64_t k = 0; k < kInt4Group; ++k) {
      const int8_t q = k < n ? static_cast<int8_t>(std::clamp(round_even(x[k0 + k] * inv), -127.0f, 127.0f)) : 0;
      out.q[k0 + k] = q;
      sum += q;
    }
    out.scale[g] = scale;
    out.offset[g] = 8 * sum;
  }
}

void Int4Rows::resize(int64_t tokens, int64_t K) {
  groups = int4_groups(K);
  kpad = groups * kInt4Group;
  q.resize(static_cast<size_t>(tokens * kpad));
  scale.resize(static_cast<size_t>(tokens * groups));
  offset.resize(static_cast<size_t>(tokens * groups));
}

void Int4Rows::quantize(const float* X, int64_t ldx, int64_t K, int64_t t_begin, int64_t t_end) {
  for (int64_t t = t_begin; t < t_end; ++t)
    quantize_int4_activations(X + t * ldx, K, {q.data() + t * kpad, scale.data() + t * groups, offset.data() + t * groups});
}

}  // namespace cpu
}  // namespace llm
