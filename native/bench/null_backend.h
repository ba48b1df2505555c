// A backend that computes nothing, for measuring what the Engine itself costs per step on the
// host (scheduling, block tables, batch building, sampling, events): it reports a model shape's
// KV block size and a large cache, samples the rows the engine hands over as the CUDA backend
// does (one token each, no logits), and hands back logits only for the rows the host must sample.
// Those logits are one fixed pseudo-random buffer, written once: a host row then costs what host
// sampling costs, not what generating the numbers would.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/model.h"
#include "random_model.h"

namespace bench {

// A model with a named shape's config and no weights (the null backend never reads them).
class ShapeOnlyModel : public llm::Model {
 public:
  explicit ShapeOnlyModel(const ModelShape& s) {
    config_.vocab_size = s.vocab;
    config_.hidden_size = s.hidden;
    config_.num_layers = s.layers;
    config_.num_heads = s.heads;
    config_.num_kv_heads = s.kv_heads;
    config_.head_dim = s.hidden / s.heads;
    config_.intermediate_size = s.ffn;
    config_.max_position_embeddings = 131072;
    config_.bos_token_id = 128000;
    config_.eos_token_ids = {128001, 128009};
    config_.tie_word_embeddings = s.tied;
    path_ = "null://" + s.name;
  }
};

class NullBackend : public llm::Backend {
 public:
  NullBackend(const llm::ModelConfig& c, size_t kv_bytes) : cfg_(c), kv_bytes_(kv_bytes) {}

  std::string name() const override { return "null"; }
  size_t kv_block_bytes(int block_size) const override {
    return 2ull * cfg_.num_layers * block_size * cfg_.num_kv_heads * cfg_.head_dim * 2;  // bf16 K and V
  }
  size_t available_kv_bytes(double fraction) const override { return static_cast<size_t>(kv_bytes_ * fraction); }
  void init_kv_cache(int, int) override {}
  void forward(const llm::ForwardBatch& b, float* logits) override {
    const size_t row = static_cast<size_t>(cfg_.vocab_size);
    const float* n = noise(1).data();
    for (size_t r = 0; r < b.logits_indices.size(); ++r) std::copy(n, n + row, logits + r * row);
  }
  bool samples_on_device() const override { return true; }
  llm::StepLogits forward_step(const llm::ForwardBatch& b, int /*vocab_size*/) override {
    const size_t rows = b.logits_indices.size();
    tokens_.resize(rows);
    bool host_rows = b.row_sampling.size() != rows;
    for (size_t r = 0; r < rows; ++r) {
      tokens_[r] = static_cast<int32_t>((b.positions[b.logits_indices[r]] * 7919u + r) % 120000u);
      if (!host_rows && b.row_sampling[r].kind == llm::RowSampling::Host) host_rows = true;
    }
    logprobs_.resize(rows);
    for (size_t r = 0; r < rows && r < b.row_sampling.size(); ++r) {  // as many scores as asked for
      llm::RowLogprobs& lp = logprobs_[r];
      lp.count = std::min(b.row_sampling[r].logprobs, llm::kMaxLogprobs);
      for (int j = 0; j < lp.count; ++j) lp.top_tokens[j] = j;
    }
    llm::StepLogits out;
    out.tokens = tokens_.data();
    out.logprobs = logprobs_.data();
    if (host_rows) out.logits = noise(rows).data();  // rows the engine samples itself
    return out;
  }

 private:
  // `rows` x vocab logits, the same values every step (grown, never regenerated).
  const std::vector<float>& noise(size_t rows) {
    const size_t want = rows * static_cast<size_t>(cfg_.vocab_size);
    if (noise_.size() < want) {
      uint64_t x = 0x9e3779b97f4a7c15ull + noise_.size();
      const size_t from = noise_.size();
      noise_.resize(want);
      for (size_t i = from; i < want; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        noise_[i] = static_cast<float>(x % 20000) / 1000.0f - 10.0f;
      }
    }
    return noise_;
  }

  llm::ModelConfig cfg_;
  size_t kv_bytes_;
  std::vector<int32_t> tokens_;
  std::vector<llm::RowLogprobs> logprobs_;
  std::vector<float> noise_;
};

}  // namespace bench
