// Picks the next token of one sequence from its logits row.
//
// Order (vLLM semantics): logprobs are taken from the model's raw distribution (log-softmax of
// the unprocessed logits); then repetition penalty (prompt + output tokens), frequency and
// presence penalties (output tokens), logit_bias, min_tokens (EOS and stop ids masked until
// min_tokens are generated); then greedy argmax when temperature == 0, else temperature, top_k,
// top_p, min_p and one draw from the sequence's own Rng (so a seed gives the same tokens
// whatever else is in the batch).
#pragma once

#include <cstdint>
#include <vector>

#include "llm/engine.h"
#include "sampling/token_constraint.h"
#include "sampling/rng.h"

namespace llm {

struct SampleContext {
  const SamplingParams* params = nullptr;
  const int32_t* tokens = nullptr;  // prompt then generated tokens so far
  int num_tokens = 0;
  int num_prompt_tokens = 0;
  const std::vector<int32_t>* eos_token_ids = nullptr;
  Rng* rng = nullptr;
  // response_format json_object / json_schema: only tokens that keep the output valid are picked.
  const TokenConstraint* constraint = nullptr;
};

constexpr int kMaxLogprobs = 20;
// sample()'s answer when a constraint allows no token at all (the sequence cannot go on validly).
constexpr int32_t kNoAllowedToken = -1;
constexpr float kGreedyTemperature = 1e-5f;  // below this, sampling is argmax

class Sampler {
 public:
  explicit Sampler(int vocab_size);

  // Returns the token (or kNoAllowedToken, see above); fills *logprob when params->logprobs >= 0
  // and logprob != nullptr.
  int32_t sample(const float* logits, const SampleContext& ctx, TokenLogprob* logprob);

  // The processed logits of the last sample() call (after penalties, bias and masks; before
  // temperature). For tests.
  const std::vector<float>& processed() const { return scratch_; }
  // The token ids that survived top_k / top_p / min_p in the last non-greedy sample(), with
  // their renormalised probabilities, best first (index order for min_p alone; empty for a
  // plain temperature draw). For tests.
  const std::vector<std::pair<int32_t, float>>& candidates() const { return candidates_; }

 private:
  void apply_penalties_and_masks(const SampleContext& ctx);
  int32_t pick(const SamplingParams& p, Rng& rng);
  int32_t constrained(const SampleContext& ctx);
  int32_t argmax() const;
  int32_t sample_random(const SamplingParams& p, Rng& rng);

  int vocab_;
  std::vector<float> scratch_;
  std::vector<int32_t> counts_;
  std::vector<int32_t> touched_;
  std::vector<std::pair<int32_t, float>> candidates_;
  std::vector<int32_t> index_;
  std::vector<float> weights_;
  std::vector<int32_t> ending_;  // EOS and stop ids: allowed by a constraint only at its end
};

// True when sample() needs nothing but the raw logits and the temperature / top_k / top_p /
// min_p cuts for a sequence with this many output tokens so far: no logprobs, penalties, bias or
// output format, min_tokens reached.
bool reads_only_logits(const SamplingParams& params, int num_output_tokens);

// True when sample() reduces to the argmax of the raw logits: greedy and reads_only_logits(). A
// backend may then pick the token itself (StepLogits::tokens).
bool samples_plain_argmax(const SamplingParams& params, int num_output_tokens);

// The sampler's greedy pick: the first index of the largest non-NaN value (the last index when
// every value is NaN). The CUDA sample_rows kernel follows the same rule.
int32_t argmax_index(const float* x, int n);

// The raw log-softmax score of `token` in a logits row, with the k best alternatives.
void token_logprob(const float* logits, int vocab, int32_t token, int k, TokenLogprob* out);

// Why the sequence stops after `token` was appended (None: it goes on).
FinishReason stop_reason(const SamplingParams& params, int32_t token, int num_output_tokens,
                         int num_tokens, int max_model_len, const std::vector<int32_t>& eos_token_ids);

// Validates sampling parameters against the vocabulary; throws llm::Error with a clear message.
void validate_sampling(const SamplingParams& params, int vocab_size);

}  // namespace llm
