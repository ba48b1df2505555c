// The seam between the scheduler and the hardware. The ModelRunner turns a scheduled step into a
// ForwardBatch; a Backend (cpu/ is the reference, cuda/ the GPU one) runs the model over it and
// returns logits. Backends own the paged KV cache storage; the BlockManager owns its bookkeeping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "sampling/device_sampling.h"

namespace llm {

// Everything a backend needs for one step. Tokens of all scheduled sequences are flattened,
// sequence after sequence; a sequence contributes 1 token (decode) or a chunk (prefill).
struct ForwardBatch {
  // Per token (num_tokens entries).
  std::vector<int32_t> token_ids;
  std::vector<int32_t> positions;     // absolute position in its sequence
  std::vector<int32_t> slot_mapping;  // KV slot to write: block_id * block_size + offset

  // Per sequence (num_seqs entries; query_start_loc has num_seqs + 1).
  std::vector<int32_t> query_start_loc;  // token range of sequence i: [qsl[i], qsl[i+1])
  std::vector<int32_t> seq_lens;         // context length including this step's tokens
  std::vector<int32_t> block_tables;     // num_seqs x max_blocks_per_seq, row-major, pad = -1
  int32_t max_blocks_per_seq = 0;
  int32_t block_size = 16;

  // Rows (indices into token_ids) whose logits are returned, in this order. Usually the last
  // token of each sequence that samples this step; all rows for the oracle's logits check.
  std::vector<int32_t> logits_indices;
  // Rows whose final-normed hidden state is returned (embeddings), in this order; they need no
  // logits row. Only for a backend whose supports_hidden_rows().
  std::vector<int32_t> hidden_indices;
  // Per logits row (empty, or parallel to logits_indices), set only for a backend that
  // samples_on_device(): rows it may turn into their token itself (see device_sampling.h).
  std::vector<RowSampling> row_sampling;
  // The edits (penalties, bias, masks) of those rows: each row's [edits_begin, + edits_count).
  std::vector<RowEdit> row_edits;

  int num_tokens() const { return static_cast<int>(token_ids.size()); }
  int num_seqs() const { return static_cast<int>(seq_lens.size()); }
  // True when every sequence contributes exactly one token (a pure decode step).
  bool is_decode_only() const { return num_tokens() == num_seqs(); }
};

// What forward_step() returns: host memory owned by the backend, valid until its next call.
struct StepLogits {
  const float* logits = nullptr;    // logits_indices.size() x vocab_size, row-major
  const int32_t* tokens = nullptr;  // when set: tokens[i] is row i's token for every row whose
                                    // row_sampling is not Host, and its logits row is not written
  const float* hidden = nullptr;    // hidden_indices.size() x hidden_size, row-major
  const RowLogprobs* logprobs = nullptr;  // when tokens is set: logprobs[i] for every such row whose
                                          // row_sampling asks for logprobs (>= 0)
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;  // "cpu" or "cuda"

  // Bytes of K and V for one block over all layers, in the backend's cache dtype.
  virtual size_t kv_block_bytes(int block_size) const = 0;

  // Bytes the backend can give to the KV cache when allowed `fraction` of its device memory
  // (host RAM for cpu), after weights and peak activations.
  virtual size_t available_kv_bytes(double fraction) const = 0;

  // Allocates the cache. Called once before the first forward().
  virtual void init_kv_cache(int num_blocks, int block_size) = 0;

  // Runs the model: writes K/V of every token into its slot, attends over each sequence's
  // block table, and writes logits for batch.logits_indices into `logits`
  // (logits_indices.size() x vocab_size floats, row-major). Throws llm::Error on failure.
  virtual void forward(const ForwardBatch& batch, float* logits) = 0;

  // The engine's per-step entry. The default runs forward() into a host vector. The CUDA
  // backend copies into pinned memory and samples the rows batch.row_sampling allows on the
  // GPU, sending back one token instead of the row (no vocab-sized copy or host scan).
  virtual StepLogits forward_step(const ForwardBatch& batch, int vocab_size);

  // Whether forward_step() honours batch.row_sampling (the engine fills it only then).
  virtual bool samples_on_device() const { return false; }

  // Whether forward_step() returns batch.hidden_indices' hidden states (embeddings).
  virtual bool supports_hidden_rows() const { return false; }

 protected:
  // After forward(): the final-normed hidden states of batch.hidden_indices (hidden_indices.size()
  // x hidden_size), valid until the next forward; nullptr when not supported.
  virtual const float* last_hidden_rows(const ForwardBatch&) { return nullptr; }

 private:
  std::vector<float> step_logits_;
};

struct BackendOptions {
  std::string device = "auto";  // "auto" | "cpu" | "cuda"
  int threads = 0;              // cpu: worker threads (0 = hardware concurrency)
  int cuda_device = 0;
  // "none" | "int8" (CPU backend: weight-only, per-row scales) | "int8-bf16" (int8 weights times
  // activations rounded to bf16: VDPBF16PS, needs AVX512_BF16) | "int4" (groups of 32 weights with
  // a scale each, times activations quantized to int8 per group: integer dot products)
  std::string quantization = "none";
};

// Picks and builds the backend. "auto" tries CUDA (when compiled in and a GPU answers) and
// falls back to the CPU backend, reporting why through `log`.
std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model,
                                      const BackendOptions& options,
                                      std::string* log);

// How the CPU backend holds its Linear weights.
enum class CpuWeights {
  Stored,    // as in the checkpoint (bf16 / f16 / f32)
  Int8,      // int8, per-row scales, f32 activations (FMA kernels)
  Int8Bf16,  // int8, per-row scales, activations rounded to bf16 (bf16 dot products)
  Int4,      // int4 in groups of 32 with a scale each, activations int8 per group (int8 dot products)
};
std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, int threads,
                                          CpuWeights weights = CpuWeights::Stored);

// Defined in cuda/ when LLM_WITH_CUDA, else a stub that reports "built without CUDA".
// Returns false with a reason (no driver, no device) when no GPU can be used.
bool cuda_device_available(std::string* reason);
std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const Model> model, int device);

}  // namespace llm
