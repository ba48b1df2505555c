// Offline throughput through the real Engine (scheduler, continuous batching, sampling):
// N requests of I random prompt tokens and O generated tokens each (ignore_eos, greedy).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "llm/engine.h"

namespace bench {

struct OfflineOptions {
  std::string model_dir, device = "auto", quantization = "none";
  int speculative_tokens = 0;
  int threads = 0, num_prompts = 100, input_len = 512, output_len = 128;
  int max_num_seqs = 256, max_num_batched_tokens = 4096;
  double kv_cache_fraction = 0.9;
  // Sampling of every request (greedy by default, as the transformers peer runs).
  float temperature = 0.0f, top_p = 1.0f;
  int top_k = 0;
  int logprobs = -1;  // >= 0: each token's logprob and this many alternatives
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
};

struct OfflineResults {
  double seconds = 0, output_tok_s = 0, total_tok_s = 0, requests_s = 0;
  double ttft_median_ms = 0;
  long generated = 0;
  int errors = 0;
  long spec_draft_tokens = 0, spec_accepted_tokens = 0;
  // Engine steps (schedule + forward + sample, wall time) over the run.
  long steps = 0;
  double step_ms_total = 0, step_ms_median = 0, step_ms_p90 = 0;
  // FNV-1a of every request's output tokens in request order: equal hashes, equal outputs (e.g.
  // with and without speculative decoding).
  uint64_t output_hash = 0;
  std::string backend, first_error;
};

// Builds the engine (default: llm::Engine::create, the real backend for opt.device).
using EngineFactory =
    std::function<std::unique_ptr<llm::Engine>(const llm::EngineOptions&, llm::EventSink, llm::LogSink)>;

OfflineResults bench_offline(const OfflineOptions& opt, const EngineFactory& make_engine = nullptr);

// The offline requests' sampling flags, which engine-bench and engine-overhead-bench both take
// (--temperature, --top-p, --top-k, --logprobs, the three penalties): their --help lines, their
// parser (true when `flag` is one of them; `next` returns its value), and their JSON fields
// ("temperature": ..., through "presence_penalty": ..., no braces).
extern const char* const kSamplingUsage;
bool parse_sampling_flag(const std::string& flag, const std::function<std::string()>& next, OfflineOptions* opt);
std::string sampling_json(const OfflineOptions& opt);

}  // namespace bench
