// Element-wise and per-row ops of the Llama forward (single-threaded; small next to the GEMMs).
#pragma once

#include <cstdint>

namespace llm {
namespace cpu {

// y[r] = w * x[r] / sqrt(mean(x[r]^2) + eps) for `rows` rows of n floats (sum of squares in f64).
void rmsnorm_rows(const float* x, const float* w, float* y, int rows, int n, float eps);

// cos/sin tables [T][head_dim / 2] of angle = float(position) * inv_freq[i] (as Hugging Face).
void rope_tables(const int32_t* positions, int T, const float* inv_freq, int half, float* cos_out, float* sin_out);

// Hugging Face rotate_half RoPE in place on x [rows][heads][head_dim]: pairs (i, i + head_dim/2).
void apply_rope(float* x, int rows, int heads, int head_dim, const float* cos_t, const float* sin_t);

// gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

}  // namespace cpu
}  // namespace llm
