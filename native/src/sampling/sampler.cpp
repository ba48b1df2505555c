#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "llm/error.h"

namespace llm {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// top_p's pre-filter: bins of (logit - max) / T, kTopPBinWidth wide, down to e^-32 of the top
// weight; everything lower shares the last bin.
constexpr int kTopPBins = 64;
constexpr float kTopPBinWidth = 0.5f;
int top_p_bin(float z) {
  const float b = -z / kTopPBinWidth;
  return b < kTopPBins ? static_cast<int>(b) : kTopPBins;
}

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

void token_logprob(const float* logits, int vocab, int32_t token, int k, TokenLogprob* out) {
  // A NaN logit has no probability (it is never sampled) and is never listed.
  float mx = kNegInf;
  for (int i = 0; i < vocab; ++i) mx = std::max(mx, logits[i]);  // std::max(mx, NaN) is mx
  double sum = 0;
  for (int i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i])) sum += std::exp(logits[i] - mx);  // float exp, double sum: ~1e-7
  const float lse = mx + static_cast<float>(std::log(sum));
  out->token = token;
  out->logprob = logits[token] - lse;
  out->top.clear();
  if (k <= 0) return;
  std::vector<int32_t> idx;
  idx.reserve(static_cast<size_t>(vocab));
  for (int32_t i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i])) idx.push_back(i);
  k = std::min(k, static_cast<int>(idx.size()));
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
  for (int i = 0; i < k; ++i) out->top.emplace_back(idx[i], logits[idx[i]] - lse);
}

Sampler::Sampler(int vocab_size) : vocab_(vocab_size) {
  if (vocab_size <= 0) throw Error("sampler: vocabulary size must be positive");
  scratch_.resize(static_cast<size_t>(vocab_size));
  counts_.assign(static_cast<size_t>(vocab_size), 0);
}

void Sampler::apply_penalties_and_masks(const SampleContext& ctx) {
  const SamplingParams& p = *ctx.params;
  float* x = scratch_.data();
  // Repetition penalty over every token seen (prompt and output): each distinct token once.
  if (p.repetition_penalty != 1.0f) {
    for (int i = 0; i < ctx.num_tokens; ++i) {
      const int32_t t = ctx.tokens[i];
      if (t < 0 || t >= vocab_ || counts_[t] < 0) continue;
      x[t] = x[t] > 0 ? x[t] / p.repetition_penalty : x[t] * p.repetition_penalty;
      counts_[t] = -1;  // mark
      touched_.push_back(t);
    }
    for (int32_t t : touched_) counts_[t] = 0;
    touched_.clear();
  }
  // Frequency and presence penalties over generated tokens.
  if (p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
    for (int i = ctx.num_prompt_tokens; i < ctx.num_tokens; ++i) {
      const int32_t t = ctx.tokens[i];
      if (t < 0 || t >= vocab_) continue;
      if (counts_[t]++ == 0) touched_.push_back(t);
    }
    for (int32_t t : touched_) {
      x[t] -= p.frequency_penalty * static_cast<float>(counts_[t]) + p.presence_penalty;
      counts_[t] = 0;
    }
    touched_.clear();
  }
  for (const auto& [t, bias] : p.logit_bias)
    if (t >= 0 && t < vocab_) x[t] += bias;
  if (ctx.num_tokens - ctx.num_prompt_tokens < p.min_tokens) {
    if (ctx.eos_token_ids)
      for (int32_t t : *ctx.eos_token_ids)
        if (t >= 0 && t < vocab_) x[t] = kNegInf;
    for (int32_t t : p.stop_token_ids)
      if (t >= 0 && t < vocab_) x[t] = kNegInf;
  }
}

int32_t argmax_index(const float* x, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best] || std::isnan(x[best])) best = i;
  return best;
}

bool reads_only_logits(const SamplingParams& p, int num_output_tokens) {
  return p.logprobs < 0 && p.repetition_penalty == 1.0f && p.frequency_penalty == 0.0f &&
         p.presence_penalty == 0.0f && p.logit_bias.empty() && num_output_tokens >= p.min_tokens &&
         p.format == OutputFormat::Text;
}

bool samples_plain_argmax(const SamplingParams& p, int num_output_tokens) {
  return p.temperature < kGreedyTemperature && reads_only_logits(p, num_output_tokens);
}

int32_t Sampler::argmax() const { return argmax_index(scratch_.data(), vocab_); }

int32_t Sampler::sample_random(const SamplingParams& p, Rng& rng) {
  const float inv_t = 1.0f / p.temperature;
  candidates_.clear();
  float mx = kNegInf;
  for (int i = 0; i < vocab_; ++i) mx = std::max(mx, scratch_[i]);
  if (!std::isfinite(mx)) return argmax();
  // Unnormalised probability of token i: exp((x_i - max) / T); -inf and NaN logits are out.
  auto weight = [&](int32_t i) { return std::exp((scratch_[i] - mx) * inv_t); };
  auto better = [&](int32_t a, int32_t b) {
    return scratch_[a] > scratch_[b] || (scratch_[a] == scratch_[b] && a < b);
  };
  const bool top_k = p.top_k > 0 && p.top_k < vocab_;
  const bool top_p = p.top_p < 1.0f;

  if (!top_k && !top_p && p.min_p <= 0.0f) {
    // A plain temperature draw: the weights once, then one scan to the drawn mass (no list).
    weights_.resize(static_cast<size_t>(vocab_));
    double total = 0;
    for (int i = 0; i < vocab_; ++i) total += weights_[i] = scratch_[i] > kNegInf ? weight(i) : 0.0f;
    const double target = rng.uniform() * total;
    double cum = 0;
    int32_t last = 0;  // the maximum's weight is 1, so the scan always sets it
    for (int i = 0; i < vocab_; ++i) {
      if (weights_[i] <= 0.0f) continue;
      cum += weights_[i];
      last = i;
      if (target < cum) return i;
    }
    return last;
  }

  // The survivors' indices, then their unnormalised weights over `total`.
  index_.clear();
  double total = 0;
  if (top_k) {
    // Select on the logits; exponentiate only the k kept.
    for (int i = 0; i < vocab_; ++i)
      if (scratch_[i] > kNegInf) index_.push_back(i);
    const size_t k = std::min(static_cast<size_t>(p.top_k), index_.size());
    std::partial_sort(index_.begin(), index_.begin() + k, index_.end(), better);
    index_.resize(k);
    for (int32_t i : index_) total += candidates_.emplace_back(i, weight(i)).second;
  } else if (top_p) {
    // The nucleus needs the total mass and the best tokens in order. Weights are binned by
    // (x - max) / T; only the bins that reach top_p of the mass (plus one against rounding) can
    // hold the nucleus, so only their tokens are sorted, not the whole vocabulary.
    weights_.resize(static_cast<size_t>(vocab_));
    double mass[kTopPBins + 1] = {};
    for (int i = 0; i < vocab_; ++i) {
      const float w = scratch_[i] > kNegInf ? weight(i) : 0.0f;
      weights_[i] = w;
      total += w;
      if (w > 0.0f) mass[top_p_bin((scratch_[i] - mx) * inv_t)] += w;
    }
    int last_bin = kTopPBins;
    double reached = 0;
    for (int b = 0; b <= kTopPBins; ++b) {
      reached += mass[b];
      if (reached >= p.top_p * total) {
        last_bin = std::min(b + 1, kTopPBins);
        break;
      }
    }
    for (int i = 0; i < vocab_; ++i)
      if (weights_[i] > 0.0f && top_p_bin((scratch_[i] - mx) * inv_t) <= last_bin) index_.push_back(i);
    std::sort(index_.begin(), index_.end(), better);
    for (int32_t i : index_) candidates_.emplace_back(i, weights_[i]);
  } else {
    // min_p only: tokens under min_p x the top probability (weight 1) can be dropped before exp.
    const float cut = std::log(p.min_p);
    for (int i = 0; i < vocab_; ++i)
      if (scratch_[i] > kNegInf && (scratch_[i] - mx) * inv_t >= cut)
        total += candidates_.emplace_back(i, weight(i)).second;
  }
  for (auto& c : candidates_) c.second = static_cast<float>(c.second / total);

  if (top_p) {
    double cum = 0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += candidates_[i].second;
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
  }
  if (p.min_p > 0.0f) {
    float top = 0;
    for (const auto& c : candidates_) top = std::max(top, c.second);
    const float threshold = p.min_p * top;
    candidates_.erase(std::remove_if(candidates_.begin(), candidates_.end(),
                                     [&](const auto& c) { return c.second < threshold; }),
                      candidates_.end());
  }
  total = 0;
  for (const auto& c : candidates_) total += c.second;
  for (auto& c : candidates_) c.second = static_cast<float>(c.second / total);

  const double u = rng.uniform();
  double cum = 0;
  for (const auto& c : candidates_) {
    cum += c.second;
    if (u < cum) return c.first;
  }
  return candidates_.back().first;
}

int32_t Sampler::pick(const SamplingParams& p, Rng& rng) {
  if (p.temperature < kGreedyTemperature) {
    candidates_.clear();
    return argmax();
  }
  return sample_random(p, rng);
}

// A constrained pick from the masked distribution. Greedy and plain temperature draws first try
// the unmasked pick and keep it when allowed: for them that is exact (the argmax, or a draw
// redrawn from the masked weights with probability 1 - allowed mass, which sums to the masked
// distribution), and it skips the vocabulary walk on most steps. top_k / top_p / min_p cut
// relative to the surviving tokens, so they always mask first.
int32_t Sampler::constrained(const SampleContext& ctx) {
  const SamplingParams& p = *ctx.params;
  ending_.clear();
  if (ctx.eos_token_ids) ending_ = *ctx.eos_token_ids;
  ending_.insert(ending_.end(), p.stop_token_ids.begin(), p.stop_token_ids.end());
  const bool cuts = p.temperature >= kGreedyTemperature &&
                    ((p.top_k > 0 && p.top_k < vocab_) || p.top_p < 1.0f || p.min_p > 0.0f);
  if (!cuts) {
    const int32_t token = pick(p, *ctx.rng);
    if (ctx.constraint->allows(token, ending_)) return token;
  }
  if (!ctx.constraint->mask(scratch_.data(), ending_)) {
    candidates_.clear();
    // Complete, but nothing may follow (min_tokens still masks EOS once the whitespace allowance
    // is used up): EOS, which min_tokens then skips as a stop, so the text stays valid.
    if (ctx.constraint->complete() && !ending_.empty()) return ending_.front();
    return kNoAllowedToken;  // e.g. the vocabulary cannot spell the next byte: the engine fails it
  }
  return pick(p, *ctx.rng);
}

int32_t Sampler::sample(const float* logits, const SampleContext& ctx, TokenLogprob* logprob) {
  const SamplingParams& p = *ctx.params;
  std::copy(logits, logits + vocab_, scratch_.begin());
  apply_penalties_and_masks(ctx);
  const int32_t token = ctx.constraint ? constrained(ctx) : pick(p, *ctx.rng);
  if (token != kNoAllowedToken && logprob && p.logprobs >= 0) token_logprob(logits, vocab_, token, p.logprobs, logprob);
  return token;
}

FinishReason stop_reason(const SamplingParams& params, int32_t token, int num_output_tokens,
                         int num_tokens, int max_model_len, const std::vector<int32_t>& eos_token_ids) {
  if (num_output_tokens >= params.min_tokens) {
    if (!params.ignore_eos && contains(eos_token_ids, token)) return FinishReason::Stop;
    if (contains(params.stop_token_ids, token)) return FinishReason::Stop;
  }
  if (num_output_tokens >= params.max_tokens) return FinishReason::Length;
  if (num_tokens >= max_model_len) return FinishReason::Length;
  return FinishReason::None;
}

void validate_sampling(const SamplingParams& p, int vocab_size) {
  auto bad = [](const std::string& m) { throw Error("invalid sampling parameter: " + m); };
  if (!std::isfinite(p.temperature) || p.temperature < 0) bad("temperature must be >= 0");
  if (p.top_k < 0) bad("top_k must be >= 0 (0 disables it)");
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) bad("top_p must be in (0, 1]");
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) bad("min_p must be in [0, 1]");
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0) bad("repetition_penalty must be > 0");
  if (!std::isfinite(p.presence_penalty) || p.presence_penalty < -2 || p.presence_penalty > 2)
    bad("presence_penalty must be in [-2, 2]");
  if (!std::isfinite(p.frequency_penalty) || p.frequency_penalty < -2 || p.frequency_penalty > 2)
    bad("frequency_penalty must be in [-2, 2]");
  if (p.max_tokens < 0) bad("max_tokens must be >= 0");
  if (p.min_tokens < 0) bad("min_tokens must be >= 0");
  if (p.min_tokens > p.max_tokens) bad("min_tokens must be <= max_tokens");
  if (p.logprobs < -1 || p.logprobs > kMaxLogprobs) bad("logprobs must be between 0 and 20");
  if (p.prompt_logprobs < -1 || p.prompt_logprobs > kMaxLogprobs) bad("prompt_logprobs must be between 0 and 20");
  if ((p.format == OutputFormat::JsonSchema) != !p.json_schema.empty())
    bad("json_schema must be given exactly when the output format is json_schema");
  if ((p.format == OutputFormat::Choice) != !p.choices.empty())
    bad("choices must be given exactly when the output format is choice");
  for (const auto& [t, bias] : p.logit_bias) {
    if (t < 0 || t >= vocab_size)
      bad("logit_bias token " + std::to_string(t) + " is outside the vocabulary (size " + std::to_string(vocab_size) + ")");
    if (!std::isfinite(bias) || bias < -100 || bias > 100) bad("logit_bias values must be in [-100, 100]");
  }
  // One bias per token (a row's edits carry one each: see row_edits.h).
  std::vector<int32_t> biased;
  for (const auto& entry : p.logit_bias) biased.push_back(entry.first);
  std::sort(biased.begin(), biased.end());
  const auto twice = std::adjacent_find(biased.begin(), biased.end());
  if (twice != biased.end()) bad("logit_bias lists token " + std::to_string(*twice) + " more than once");
  for (int32_t t : p.stop_token_ids)
    if (t < 0 || t >= vocab_size)
      bad("stop token " + std::to_string(t) + " is outside the vocabulary (size " + std::to_string(vocab_size) + ")");
}

}  // namespace llm
