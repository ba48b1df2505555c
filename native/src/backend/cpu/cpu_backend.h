// The reference CPU backend: Llama forward over a flattened batch with a paged f32 KV cache.
// Weights stay in their stored dtype (bf16/f16/f32, memory-mapped) and are widened in registers;
// every weight is applied to all tokens of the step in one GEMM; f32 accumulation throughout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/quantize_int4.h"
#include "backend/cpu/thread_pool.h"

namespace llm {
namespace cpu {

class CpuBackend : public Backend {
 public:
  // Int8 / Int8Bf16 / Int4: every Linear weight (and the lm_head) quantized to int8 with per-row
  // scales (quantize_int8.h) or to int4 in groups of 32 (quantize_int4.h); needs an ISA with a
  // packed GEMM (AVX2 or better), Int8Bf16 AVX512_BF16.
  CpuBackend(std::shared_ptr<const Model> model, int threads, CpuWeights weights = CpuWeights::Stored);

  std::string name() const override { return "cpu"; }
  size_t kv_block_bytes(int block_size) const override;
  size_t available_kv_bytes(double fraction) const override;
  void init_kv_cache(int num_blocks, int block_size) override;
  void forward(const ForwardBatch& batch, float* logits) override;
  bool supports_hidden_rows() const override { return true; }

  int threads() const { return pool_.size(); }
  const char* isa() const { return kern_.isa; }

 protected:
  const float* last_hidden_rows(const ForwardBatch& batch) override;

 private:
  // A Linear weight as stored, and repacked for the SIMD GEMM when the ISA has a packed path.
  struct Linear {
    WeightMatrix w;
    PackedMatrix packed;  // packed.data == nullptr: use w
  };
  struct Layer {
    std::vector<float> attn_norm, mlp_norm;
    Linear wq, wk, wv, wo, w_gate, w_up, w_down;
  };
  struct FreeDeleter {
    void operator()(void* p) const;
  };

  WeightMatrix weight(const TensorView& t);
  Linear linear(const TensorView& t);
  void pack(Linear& l);
  void validate(const ForwardBatch& b) const;
  void ensure_scratch(int tokens, int logit_rows);
  // One parallel region for several weights applied to the same input.
  struct MatJob {
    const Linear* w;
    float* y;
  };
  void matmul(const float* x, int rows, int64_t ldx, std::initializer_list<MatJob> jobs);
  // f(begin, end) over [0, rows) split in contiguous parts over the pool (inline for one row).
  template <typename F>
  void rows_parallel(int rows, const F& f) {
    if (rows <= 1 || pool_.size() == 1) {
      if (rows > 0) f(0, rows);
      return;
    }
    pool_.run([&f, rows](int i, int n) {  // two captures: fits std::function's inline buffer
      const int a = static_cast<int>(static_cast<int64_t>(rows) * i / n);
      const int e = static_cast<int>(static_cast<int64_t>(rows) * (i + 1) / n);
      if (a < e) f(a, e);
    });
  }

  std::shared_ptr<const Model> model_;
  const ModelConfig& cfg_;
  const Kernels& kern_;
  const CpuWeights weights_;
  const bool int8_pairs_;  // Int8Bf16: the k-pair layout and the bf16 dot-product kernel
  ThreadPool pool_;
  std::vector<std::vector<float>> owned_;  // copies of misaligned weights
  std::vector<std::unique_ptr<void, FreeDeleter>> packed_;  // packed weights (64-byte aligned)
  std::vector<Layer> layers_;
  WeightMatrix embed_;
  Linear lm_head_;
  std::vector<float> final_norm_;
  std::vector<float> inv_freq_;

  // KV cache: per layer [num_blocks * block_size][num_kv_heads * head_dim].
  int num_blocks_ = 0;
  int block_size_ = 0;
  std::vector<std::unique_ptr<float[]>> k_cache_, v_cache_;

  // Scratch, grown on demand and reused across steps.
  int cap_tokens_ = 0, cap_logit_rows_ = 0;
  std::vector<float> x_, h_, q_, k_, v_, attn_, tmp_, gate_, up_, cos_, sin_, hl_;
  std::vector<float> hidden_rows_;  // last_hidden_rows()' output
  std::vector<int32_t> token_seq_;
  Int4Rows int4_x_;  // Int4: matmul's input, quantized once for all its weights
  std::vector<std::vector<float>> attn_scratch_;
};

}  // namespace cpu
}  // namespace llm
