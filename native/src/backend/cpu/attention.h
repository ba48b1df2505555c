// Paged attention over block tables with grouped-query heads, for a flattened batch: each token
// attends to every cached position of its sequence up to and including its own (causal within a
// prefill chunk, and over all earlier chunks and prefix-cache hits).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/thread_pool.h"

namespace llm {
namespace cpu {

struct AttentionShape {
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  float scale = 1.0f;  // usually 1 / sqrt(head_dim)
};

// KV cache of one layer: [num_slots][num_kv_heads][head_dim] floats for K and for V, where
// slot = block_id * block_size + offset.
struct KvLayerView {
  const float* k = nullptr;
  const float* v = nullptr;
};

// q: [T][num_heads * head_dim]; out: same shape. token_seq[t] is the batch sequence of token t.
// scratch: one buffer per pool thread (resized here as needed).
void paged_attention(const ForwardBatch& batch, const std::vector<int32_t>& token_seq, const AttentionShape& shape,
                     const KvLayerView& kv, const float* q, float* out, const Kernels& kern, ThreadPool& pool,
                     std::vector<std::vector<float>>& scratch);

}  // namespace cpu
}  // namespace llm
