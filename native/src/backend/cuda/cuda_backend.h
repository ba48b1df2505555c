// The CUDA backend: bf16 weights on one GPU, f32 activations (GEMM inputs split into bf16 hi + lo),
// bf16 paged KV cache
// ([block, slot, kv_head, head_dim] per layer), fused QKV and gate/up projections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "backend/backend.h"
#include "backend/step_layout.h"
#include "backend/cuda/decode_graphs.h"
#include "backend/cuda/gemm.h"
#include "backend/cuda/op_timer.h"
#include "backend/cuda/ops.h"

namespace llm {
namespace cuda {

class CudaBackend : public Backend {
 public:
  CudaBackend(std::shared_ptr<const Model> model, int device);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  size_t kv_block_bytes(int block_size) const override;
  size_t available_kv_bytes(double fraction) const override;
  void init_kv_cache(int num_blocks, int block_size) override;
  void forward(const ForwardBatch& batch, float* logits) override;
  // Logits into pinned memory; Argmax and Draw rows sampled on the GPU (see backend.h).
  StepLogits forward_step(const ForwardBatch& batch, int vocab_size) override;
  bool samples_on_device() const override { return true; }
  // forward_step() copies batch.hidden_indices' final-norm rows (f32, as the lm_head reads them).
  bool supports_hidden_rows() const override { return true; }

  // For tests and the benchmark.
  const std::string& describe() const { return description_; }
  const DecodeGraphs& graphs() const { return graphs_; }
  OpTimer& op_timer() { return op_timer_; }
  size_t weight_bytes() const { return weight_bytes_; }
  int num_kv_blocks() const { return num_blocks_; }
  cudaStream_t stream() const { return stream_; }
  Gemm& gemm() { return gemm_; }

 private:
  struct Layer {
    bf16_t* attn_norm = nullptr;
    bf16_t* wqkv = nullptr;     // [(H + 2 KH) D, hidden]
    bf16_t* wo = nullptr;       // [hidden, H D]
    bf16_t* mlp_norm = nullptr;
    bf16_t* w_gate_up = nullptr;  // [2 F, hidden]
    bf16_t* w_down = nullptr;   // [hidden, F]
    bf16_t* k_cache = nullptr;
    bf16_t* v_cache = nullptr;
  };

  void* device_alloc(size_t bytes, const char* what);
  bf16_t* upload(const std::vector<const TensorView*>& parts, const char* what);
  void ensure_workspace(int num_tokens);
  void free_workspace();
  void validate(const ForwardBatch& batch) const;
  // Logits rows per lm_head GEMM (and the most rows a decode graph has).
  static constexpr int kLogitChunk = 256;

  // The padded shape and graph key of a pure-decode step a graph can run; false otherwise.
  bool graph_shape(const ForwardBatch& batch, StepShape* shape, uint64_t* key) const;
  // Writes `batch`'s metadata laid out as `shape` into the pinned staging buffer and uploads it;
  // sets the d_* pointers.
  void stage(const ForwardBatch& batch, const StepShape& shape);
  // The layers and the final norm into normed_ (kernels only: graph-capturable).
  void launch_layers(const StepShape& shape);
  // lm_head over logits rows [r0, r0 + n) into logits_dev_; with `sample`, sample_rows too.
  void launch_logits(int r0, int n, bool sample);
  // Copies the Host rows among [r0, r0 + n) of the batch (all rows unless `sampled`) to `logits`.
  void copy_host_rows(const ForwardBatch& batch, float* logits, int r0, int n, bool sampled);
  // A step without a graph: stage, layers, then lm_head (and, with `sample`, sample_rows) chunk
  // by chunk, the Host rows copied to `logits`. The caller syncs the stream.
  void run_eager(const ForwardBatch& batch, float* logits, bool sample);
  void ensure_meta(size_t words);
  void ensure_token_buffers(size_t rows);
  // Uploads the step's row edits (the device buffer grows, never moves while graphs use it).
  void stage_edits(const ForwardBatch& batch);
  void ensure_host_logits(size_t rows);

  std::shared_ptr<const Model> model_;
  ModelConfig cfg_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  Gemm gemm_;
  std::string description_;

  std::vector<void*> weight_allocs_;
  size_t weight_bytes_ = 0;
  std::vector<Layer> layers_;
  bf16_t* embed_ = nullptr;
  bf16_t* final_norm_ = nullptr;
  bf16_t* lm_head_ = nullptr;
  float* inv_freq_ = nullptr;

  int num_blocks_ = 0;
  int block_size_ = 0;
  void* kv_alloc_ = nullptr;

  // Workspace for up to cap_tokens_ tokens.
  int cap_tokens_ = 0;
  float* resid_ = nullptr;
  float* normed_ = nullptr;
  float* qkv_ = nullptr;
  float* q_ = nullptr;
  float* attn_ = nullptr;
  float* proj_ = nullptr;
  float* gate_up_ = nullptr;
  float* act_ = nullptr;
  float* rows_ = nullptr;       // gathered final-norm rows [logit_chunk, hidden]
  float* logits_dev_ = nullptr; // [logit_chunk, vocab]
  float* scratch_ = nullptr;
  size_t scratch_floats_ = 0;
  int32_t* meta_dev_ = nullptr;
  int32_t* meta_host_ = nullptr;  // pinned
  size_t meta_cap_ = 0;           // int32 entries
  // This step's metadata in meta_dev_ (set by stage()).
  const int32_t *d_tokens_ = nullptr, *d_pos_ = nullptr, *d_slots_ = nullptr, *d_seq_ = nullptr;
  const int32_t *d_tables_ = nullptr, *d_rows_ = nullptr;
  const RowSampling* d_specs_ = nullptr;
  DecodeGraphs graphs_;
  OpTimer op_timer_;
  uint64_t graphs_gemm_generation_ = 0;  // gemm_'s buffers the graphs were captured with

  float* host_logits_ = nullptr;  // pinned, forward_step()'s logits
  std::vector<float> host_hidden_;  // forward_step()'s hidden rows (embeddings)
  size_t host_logits_rows_ = 0;
  int32_t* tokens_dev_ = nullptr;   // tokens sampled on the GPU, one per logits row
  int32_t* tokens_host_ = nullptr;  // pinned
  RowLogprobs* logprobs_dev_ = nullptr;   // logprobs of those rows, for the rows that ask
  RowLogprobs* logprobs_host_ = nullptr;  // pinned
  size_t tokens_cap_ = 0;
  RowEdit* edits_dev_ = nullptr;   // the step's row edits (the kernel keeps raw logits in them)
  RowEdit* edits_host_ = nullptr;  // pinned staging
  size_t edits_cap_ = 0;
};

}  // namespace cuda
}  // namespace llm
