// Public C++ API of the inference engine. The engine loop runs on its own thread; events are
// delivered through the EventSink from that thread, in batches, as plain C++ values.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llm/error.h"

namespace llm {

// What the output must be. JsonObject constrains every sampled token to keep the text a prefix of
// one JSON object, JsonSchema of one JSON value matching SamplingParams::json_schema (a subset of
// JSON Schema), Choice of one of SamplingParams::choices; EOS only once the value is complete. All
// need the model's tokenizer.json.
enum class OutputFormat { Text, JsonObject, JsonSchema, Choice };

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy
  int top_k = 0;             // 0 = disabled
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;
  std::optional<uint64_t> seed;  // same seed, same output, whatever else is in the batch
  std::vector<int32_t> stop_token_ids;
  int max_tokens = 16;
  int min_tokens = 0;
  bool ignore_eos = false;
  int logprobs = -1;  // -1: none; k >= 0: the sampled token's logprob plus k top alternatives (k <= 20)
  // -1: none; k >= 0: each prompt token's logprob (from the second on, under the raw model) plus
  // k top alternatives (k <= 20). Such a request skips the prefix cache (its prompt must be
  // computed) and may have max_tokens 0 (score the prompt only).
  int prompt_logprobs = -1;
  OutputFormat format = OutputFormat::Text;
  std::string json_schema;  // OutputFormat::JsonSchema: the schema document (JSON text)
  std::vector<std::string> choices;  // OutputFormat::Choice: the output is exactly one of them
};

struct RequestSpec {
  std::string id;
  std::vector<int32_t> prompt_tokens;
  SamplingParams sampling;
  int priority = 0;        // lower number runs first
  std::string cache_salt;  // isolates prefix-cache entries (e.g. per tenant)
  // Embedding instead of generation: the finishing event carries the final-normed hidden state
  // of the last prompt token (last-token pooling, not normalized); sampling is ignored and no
  // token is generated (reason Stop). Needs a backend with hidden rows (CPU and CUDA).
  bool embed = false;
};

enum class FinishReason { None, Stop, Length, Abort, Error };
const char* finish_reason_name(FinishReason reason);

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // best first
};

// Milliseconds since the Unix epoch (0 when the moment has not happened).
struct RequestTimings {
  double queued_ms = 0;
  double scheduled_ms = 0;
  double first_token_ms = 0;
  double finished_ms = 0;
};

// new_tokens of the finishing event include the EOS or stop token that ended the request
// (reason Stop), as vLLM's token ids do; it counts in generated_tokens. Consumers do not render it.
struct RequestEvent {
  std::string id;
  std::vector<int32_t> new_tokens;
  std::vector<TokenLogprob> logprobs;  // parallel to new_tokens when logprobs >= 0
  std::vector<TokenLogprob> prompt_logprobs;  // prompt_logprobs >= 0: the next prompt tokens' scores
  std::vector<float> embedding;  // embed requests, on the finishing event: hidden_size floats
  bool finished = false;
  FinishReason reason = FinishReason::None;
  std::string error;  // set when reason == Error
  // Filled on the finishing event.
  int prompt_tokens = 0;
  int cached_prompt_tokens = 0;
  int generated_tokens = 0;
  RequestTimings timings;
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int kv_blocks_used = 0;
  int kv_blocks_total = 0;
  int64_t prefix_cache_queries = 0;  // in blocks
  int64_t prefix_cache_hits = 0;     // in blocks
  int64_t preemptions = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;      // prompt tokens computed (prefix hits excluded)
  int64_t generation_tokens = 0;
  int64_t spec_draft_tokens = 0;     // draft tokens computed (speculative decoding)
  int64_t spec_accepted_tokens = 0;  // of them, accepted (each one a generated token)
  double last_step_ms = 0;
};

// One engine step, as drain_steps() reports it.
struct StepSample {
  double ms = 0;       // wall time: schedule + forward + sample
  int32_t tokens = 0;  // prompt tokens computed + tokens generated
};

struct EngineOptions {
  std::string model_path;
  int max_num_seqs = 128;
  int max_num_batched_tokens = 2048;
  int max_model_len = 0;         // 0 = the model's max_position_embeddings
  int block_size = 16;
  int64_t kv_cache_bytes = 0;    // > 0 wins over the fraction
  double kv_cache_fraction = 0.9;  // of device memory (GPU) or a share of free RAM (CPU)
  int threads = 0;               // 0 = hardware concurrency
  int sampling_threads = -1;     // helper threads for host sampling (-1 = cores - 1, at most 7)
  std::string device = "auto";   // "auto" | "cpu" | "cuda"
  // "none" | "int8" (CPU backend: weight-only int8, per-row scales) | "int8-bf16" (the same times
  // bf16-rounded activations: bf16 dot products, needs AVX512_BF16)
  std::string quantization = "none";
  // Speculative decoding by prompt lookup (n-gram): up to this many draft tokens per decoding
  // sequence and step, verified by exact match (outputs unchanged); 0 = off. Host sampling only
  // (the CUDA backend samples on the device and ignores it).
  int speculative_tokens = 0;
  bool enable_prefix_caching = true;
};

struct ModelInfo {
  std::string path;
  std::string backend;  // "cpu" | "cuda"
  std::string quantization = "none";  // as in EngineOptions
  int vocab_size = 0;
  int max_model_len = 0;
  int bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;
  int hidden_size = 0;
  int num_layers = 0;
  bool embeddings = false;  // whether RequestSpec::embed is served (the backend returns hidden rows)
};

using EventSink = std::function<void(std::vector<RequestEvent>&&)>;
using LogSink = std::function<void(const std::string&)>;

class Engine {
 public:
  // Loads the model, builds the backend and starts the engine thread. Throws llm::Error.
  static std::unique_ptr<Engine> create(const EngineOptions& options, EventSink events,
                                        LogSink log = nullptr);
  virtual ~Engine() = default;

  // Validates and queues a request; throws llm::Error on bad arguments (empty or too long
  // prompt, token out of vocabulary, negative max_tokens, duplicate id, ...).
  virtual void add(RequestSpec request) = 0;
  // Aborts a queued or running request; its blocks are freed at the next step. Unknown ids are
  // ignored (the request may just have finished).
  virtual void abort(const std::string& id) = 0;
  virtual EngineStats stats() const = 0;
  // The steps since the last call, oldest first, for exact per-step histograms. Up to
  // kMaxPendingSteps wait between calls; later ones are not kept (poll at least every second).
  static constexpr size_t kMaxPendingSteps = 1 << 16;
  virtual std::vector<StepSample> drain_steps() = 0;
  virtual ModelInfo info() const = 0;
  // Aborts everything, stops the thread, frees the cache. Idempotent.
  virtual void close() = 0;
};

// Logits of every position of one prefill of `tokens` through a fresh backend
// (tokens.size() x vocab_size floats, row-major); *vocab_size receives the vocabulary size.
// For checks against an independent implementation. Throws llm::Error.
std::vector<float> compute_prompt_logits(const std::string& model_path,
                                         const std::vector<int32_t>& tokens,
                                         const std::string& device = "cpu", int threads = 0,
                                         int* vocab_size = nullptr, const std::string& quantization = "none");

}  // namespace llm
