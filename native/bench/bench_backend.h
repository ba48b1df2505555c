// Step-level measurements straight through a Backend (no scheduler): prompt throughput, TTFT of
// one long prompt, decode step time per batch size, and the memory-bandwidth floor on CUDA.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace bench {

struct DecodePoint {
  int batch = 0;
  int context = 0;             // tokens in each sequence's cache during the timed steps
  double step_ms = 0;          // median
  double tok_per_s = 0;        // batch / step time
  double floor_ms = 0;         // bytes read per step / measured copy bandwidth (CUDA only)
  double kv_bytes = 0;
};

// GPU ms per step of each op over one phase's timed steps (CUDA with --op-timing).
struct OpPhase {
  std::string phase;
  int64_t steps = 0;
  std::vector<std::pair<std::string, double>> ms_per_step;
};

struct VerifyPoint {
  int drafts = 0;        // k: the step computes 1 + k tokens of one sequence
  double step_ms = 0;    // median
};

struct BackendResults {
  std::string backend, description;
  double weight_bytes = 0;
  double copy_bw_gbs = 0;      // device-to-device (read + write) on CUDA; 0 on CPU
  double prompt_tok_s = 0;     // 128-token prompt, median
  int prompt_len = 0;
  double ttft_ms = 0;          // one forward over a `ttft_len`-token prompt, median
  int ttft_len = 0;
  double batched_prefill_tok_s = 0;  // `batched_prefill_seqs` prompts of `ttft_len` in one step
  int batched_prefill_seqs = 0;
  std::vector<VerifyPoint> verify;
  std::vector<DecodePoint> decode;
  std::vector<OpPhase> op_phases;
  double peak_mem_bytes = 0;   // device memory in use (CUDA) or max RSS (CPU)
};

struct BackendBenchOptions {
  int prompt_len = 128;
  int decode_context = 0;  // tokens cached per sequence before the decode steps (0: prompt_len)
  int ttft_len = 512;
  std::vector<int> batch_sizes;
  int decode_steps = 16;
  int repeats = 3;
  // Speculative decoding's verification: one sequence's step with 1 + k tokens and a logits row
  // each, for each k here (after batch 1's decode steps, same context).
  std::vector<int> verify_drafts;
};

BackendResults bench_backend(std::shared_ptr<const llm::Model> model, llm::Backend& backend,
                             const BackendBenchOptions& opt);

// Runs one prefill over `tokens` and returns the logits of every position (tokens x vocab).
std::vector<float> prompt_logits(std::shared_ptr<const llm::Model> model, llm::Backend& backend,
                                 const std::vector<int32_t>& tokens);

}  // namespace bench
