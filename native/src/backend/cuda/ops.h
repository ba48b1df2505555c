// Launchers for the CUDA kernels of the backend. Plain C++ signatures (bf16 passed as uint16_t
// bit patterns) so host code and the per-op tests can call them without nvcc. All launch on
// `stream` and return immediately; errors surface through cuda_check_last().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

namespace llm {
namespace cuda {

using bf16_t = uint16_t;

// Throws llm::Error("<what>: <cuda error>") when `err` is not cudaSuccess.
void check(cudaError_t err, const char* what);
// Checks cudaGetLastError() after a launch.
void check_last(const char* what);

// out[t, :] = embed[ids[t], :] as f32 (the residual stream); an id outside [0, vocab) gives zeros.
void embedding(const bf16_t* embed, const int32_t* ids, float* out, int num_tokens, int hidden, int vocab,
               cudaStream_t stream);

// If delta != nullptr: residual[t] += delta[t] (f32, in place). Then
// out[t] = residual[t] * rsqrt(mean(residual[t]^2) + eps) * weight (f32: GEMM inputs stay f32
// and are split into bf16 hi + lo parts by the GEMM, so activations lose no precision).
void add_rmsnorm(float* residual, const float* delta, const bf16_t* weight, float* out,
                 int num_tokens, int hidden, float eps, cudaStream_t stream);

// Copies rows: out[i, :] = in[rows[i], :] (f32, `width` elements per row).
void gather_rows(const float* in, const int32_t* rows, float* out, int num_rows, int width,
                 cudaStream_t stream);

// qkv: [T, (H + 2*KH) * D] f32 (q | k | v per token). Rotates q and k (rotate_half pairs
// i, i + D/2) by position * inv_freq[i]; writes q (bf16 not needed: f32) to q_out [T, H*D],
// and k, v as bf16 to the paged caches at slot_mapping[t] (layout [slot, KH, D]).
// A negative slot skips the cache write.
void rope_kv_write(const float* qkv, const int32_t* positions, const int32_t* slot_mapping,
                   const float* inv_freq, float* q_out, bf16_t* k_cache, bf16_t* v_cache,
                   int num_tokens, int num_heads, int num_kv_heads, int head_dim,
                   cudaStream_t stream);

// Paged causal attention. For each token t of sequence s = token_seq[t] at position p, its query
// heads attend to positions 0..p of s through block_tables[s, :] (block_size slots per block).
// q: [T, H*D] f32; out: [T, H*D] f32 (the o_proj input). GQA: head h reads kv head h / (H/KH).
// Long contexts are split over `num_splits` partitions (scratch: see attention_scratch_floats).
struct AttentionArgs {
  const float* q = nullptr;
  const bf16_t* k_cache = nullptr;
  const bf16_t* v_cache = nullptr;
  const int32_t* token_seq = nullptr;
  const int32_t* positions = nullptr;
  const int32_t* block_tables = nullptr;
  float* out = nullptr;
  float* scratch = nullptr;  // partial results for splits; may be null when max_splits == 1
  int num_tokens = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int block_size = 16;
  int max_blocks_per_seq = 0;
  int max_context = 0;   // largest position + 1 among the tokens (sizes the split count)
  int max_splits = 1;    // upper bound on partitions per token (scratch is sized for it)
  float scale = 1.0f;
};
// Keys per partition when a context is split (while the scratch holds max_context / this many
// splits); a token's split count depends only on its own context length, so results do not
// depend on what else is in the batch.
constexpr int kAttentionPartition = 256;
size_t attention_scratch_floats(int num_tokens, int num_heads, int head_dim, int max_splits);
void paged_attention(const AttentionArgs& args, cudaStream_t stream);

// gate_up: [T, 2*F] f32 (gate | up). out[t, i] = silu(gate) * up (f32).
void swiglu(const float* gate_up, float* out, int num_tokens, int ffn, cudaStream_t stream);

// f32 -> bf16 elementwise (n elements).
void f32_to_bf16(const float* in, bf16_t* out, size_t n, cudaStream_t stream);
// x = hi + lo with hi = bf16(x), lo = bf16(x - hi): two bf16 GEMMs then give ~16 mantissa bits.
void split_hi_lo(const float* in, bf16_t* hi, bf16_t* lo, size_t n, cudaStream_t stream);

// out[i] = in[i] + in[n + i] for i < n (the two halves of a stacked hi/lo GEMM).
void sum_halves(const float* in, float* out, size_t n, cudaStream_t stream);

// Host helpers.
bf16_t float_to_bf16_host(float f);  // round to nearest even, NaN kept
float bf16_to_float_host(bf16_t b);

}  // namespace cuda
}  // namespace llm
