// A deterministic stand-in for a real backend, for runtime tests without a model. Its "KV cache"
// stores the token id and position written to each slot; the logits of a row are a hash of the
// whole context read back through the block table. So any paging bug (wrong slot, wrong block
// table, a prefix-cache hit on the wrong block, a recompute that misses tokens) changes the
// output or throws "corrupt KV", and a request's greedy output is a pure function of its tokens.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "backend/backend.h"
#include "llm/error.h"
#include "model/model.h"
#include "sampling/rng.h"
#include "sampling/device_sampling.h"
#include "sampling/row_edits.h"
#include "sampling/sampler.h"

namespace fake {

class FakeModel : public llm::Model {
 public:
  FakeModel(int vocab, int max_pos, std::vector<int32_t> eos) {
    config_.vocab_size = vocab;
    config_.max_position_embeddings = max_pos;
    config_.eos_token_ids = std::move(eos);
    config_.bos_token_id = 0;
    config_.hidden_size = 8;
    config_.num_layers = 1;
    path_ = "fake://model";
  }
};

inline uint64_t context_hash(const int32_t* tokens, int n) {
  uint64_t h = 0x1234567;
  for (int i = 0; i < n; ++i) {
    uint64_t x = h ^ (static_cast<uint64_t>(tokens[i]) * 0x9e3779b97f4a7c15ULL);
    h = llm::Rng::splitmix64(x);
  }
  return h;
}

inline void fill_logits(uint64_t h, int vocab, float* out) {
  for (int v = 0; v < vocab; ++v) {
    uint64_t x = h + static_cast<uint64_t>(v);
    out[v] = static_cast<float>(llm::Rng::splitmix64(x) % 10000) / 1000.0f - 5.0f;
  }
}

// The greedy continuation the engine must produce for `prompt` (eos ends it).
inline std::vector<int32_t> reference_greedy(std::vector<int32_t> tokens, int vocab, int max_tokens,
                                             const std::vector<int32_t>& eos, int max_len = 1 << 30) {
  std::vector<int32_t> out;
  std::vector<float> l(static_cast<size_t>(vocab));
  while (static_cast<int>(out.size()) < max_tokens && static_cast<int>(tokens.size()) < max_len) {
    fill_logits(context_hash(tokens.data(), static_cast<int>(tokens.size())), vocab, l.data());
    int best = 0;
    for (int v = 1; v < vocab; ++v)
      if (l[v] > l[best]) best = v;
    out.push_back(best);
    tokens.push_back(best);
    if (std::find(eos.begin(), eos.end(), best) != eos.end()) break;
  }
  return out;
}

struct Control {
  std::atomic<int> fail_on_token{-1};  // forward() throws when this token is in the batch
  std::atomic<int> delay_us{0};        // per forward()
  std::atomic<int64_t> forwards{0};
  std::atomic<int64_t> max_batch_seqs{0};
  std::atomic<int64_t> argmax_rows{0};  // rows SamplingFakeBackend sampled itself, by kind
  std::atomic<int64_t> draw_rows{0};
  std::atomic<int64_t> scored_rows{0};  // of those, rows it also scored for logprobs
  std::atomic<int64_t> edited_rows{0};  // and rows it edited (penalties, bias, masks)
};

class FakeBackend : public llm::Backend {
 public:
  FakeBackend(int vocab, std::shared_ptr<Control> control, size_t available = 1 << 20)
      : vocab_(vocab), control_(std::move(control)), available_(available) {}

  std::string name() const override { return "fake"; }
  size_t kv_block_bytes(int block_size) const override { return static_cast<size_t>(block_size) * 8; }
  size_t available_kv_bytes(double fraction) const override { return static_cast<size_t>(available_ * fraction); }
  void init_kv_cache(int num_blocks, int block_size) override {
    block_size_ = block_size;
    token_.assign(static_cast<size_t>(num_blocks) * block_size, -1);
    pos_.assign(token_.size(), -1);
  }

  void forward(const llm::ForwardBatch& b, float* logits) override {
    ++control_->forwards;
    if (control_->max_batch_seqs < b.num_seqs()) control_->max_batch_seqs = b.num_seqs();
    if (int d = control_->delay_us.load()) std::this_thread::sleep_for(std::chrono::microseconds(d));
    const int fail = control_->fail_on_token.load();
    for (int i = 0; i < b.num_tokens(); ++i) {
      if (b.token_ids[i] == fail) throw llm::Error("injected failure on token " + std::to_string(fail));
      const int32_t slot = b.slot_mapping[i];
      if (slot < 0 || slot >= static_cast<int32_t>(token_.size())) throw llm::Error("slot out of range");
      token_[slot] = b.token_ids[i];
      pos_[slot] = b.positions[i];
    }
    for (size_t r = 0; r < b.logits_indices.size(); ++r) {
      const int row = b.logits_indices[r];
      int s = 0;
      while (b.query_start_loc[s + 1] <= row) ++s;
      const int pos = b.positions[row];
      if (pos + 1 > b.seq_lens[s]) throw llm::Error("position beyond seq_len");
      std::vector<int32_t> ctx;
      for (int p = 0; p <= pos; ++p) {
        const int32_t block = b.block_tables[static_cast<size_t>(s) * b.max_blocks_per_seq + p / block_size_];
        if (block < 0) throw llm::Error("missing block in block table");
        const int32_t slot = block * block_size_ + p % block_size_;
        if (pos_[slot] != p) throw llm::Error("corrupt KV at position " + std::to_string(p));
        ctx.push_back(token_[slot]);
      }
      fill_logits(context_hash(ctx.data(), static_cast<int>(ctx.size())), vocab_, logits + r * vocab_);
    }
  }

 private:
  int vocab_;
  std::shared_ptr<Control> control_;
  size_t available_;
  int block_size_ = 16;
  std::vector<int32_t> token_;
  std::vector<int32_t> pos_;
};

// Samples the rows row_sampling allows itself, as the CUDA backend does (with the host
// references of its kernels), and spoils their logits rows (another token becomes the best), so
// an engine that sampled such a row from its logits goes wrong.
class SamplingFakeBackend : public FakeBackend {
 public:
  SamplingFakeBackend(int vocab, std::shared_ptr<Control> control)
      : FakeBackend(vocab, control), vocab_(vocab), control_(std::move(control)) {}

  bool samples_on_device() const override { return true; }

  llm::StepLogits forward_step(const llm::ForwardBatch& b, int vocab_size) override {
    if (vocab_size != vocab_) throw llm::Error("vocab_size mismatch");
    const size_t rows = b.logits_indices.size();
    if (b.row_sampling.size() != rows) throw llm::Error("row_sampling must have one entry per logits row");
    logits_.resize(rows * vocab_);
    tokens_.assign(rows, -1);
    logprobs_.assign(rows, llm::RowLogprobs{});
    llm::validate_row_edits(b.row_sampling, b.row_edits, vocab_);
    forward(b, logits_.data());
    for (size_t r = 0; r < rows; ++r) {
      const llm::RowSampling& rs = b.row_sampling[r];
      float* row = logits_.data() + r * vocab_;
      if (!rs.sampled()) continue;
      edited_.assign(row, row + vocab_);  // the kernel's in-place edits, on a copy
      llm::apply_row_edits(edited_.data(), b.row_edits.data() + rs.edits_begin, rs.edits_count);
      control_->edited_rows += rs.edits_count > 0;
      if (rs.kind == llm::RowSampling::Argmax) {
        tokens_[r] = llm::argmax_index(edited_.data(), vocab_);
        ++control_->argmax_rows;
      } else {
        tokens_[r] = llm::gumbel_draw(edited_.data(), vocab_, rs);
        ++control_->draw_rows;
      }
      if (rs.logprobs >= 0) {
        llm::row_logprobs(row, vocab_, tokens_[r], rs.logprobs, &logprobs_[r]);
        ++control_->scored_rows;
      }
      std::fill(row, row + vocab_, 0.0f);
      row[(tokens_[r] + 1) % vocab_] = 100.0f;
    }
    llm::StepLogits out{logits_.data(), tokens_.data()};
    out.logprobs = logprobs_.data();
    return out;
  }

 private:
  int vocab_;
  std::shared_ptr<Control> control_;
  std::vector<float> logits_;
  std::vector<int32_t> tokens_;
  std::vector<llm::RowLogprobs> logprobs_;
  std::vector<float> edited_;
};

}  // namespace fake
