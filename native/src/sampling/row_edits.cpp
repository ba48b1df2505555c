#include "sampling/row_edits.h"

#include <algorithm>
#include <string>

#include "llm/error.h"

namespace llm {

RowEditPlanner::RowEditPlanner(int vocab_size) : vocab_(vocab_size) {
  if (vocab_size <= 0) throw Error("row edits: vocabulary size must be positive");
  slot_.assign(static_cast<size_t>(vocab_size), -1);
  counts_.assign(static_cast<size_t>(vocab_size), 0);
}

void RowEditPlanner::append(const SampleContext& ctx, RowSampling* spec, std::vector<RowEdit>* out) {
  const SamplingParams& p = *ctx.params;
  const size_t begin = out->size();
  auto valid = [&](int32_t t) { return t >= 0 && t < vocab_; };
  auto edit = [&](int32_t t) -> RowEdit& {
    if (slot_[t] < 0) {
      slot_[t] = static_cast<int32_t>(out->size());
      RowEdit e;
      e.token = t;
      out->push_back(e);
    }
    return (*out)[static_cast<size_t>(slot_[t])];
  };
  // The Sampler's order per token: repetition (prompt and output), then frequency and presence
  // (output), then bias, then the min_tokens mask.
  if (p.repetition_penalty != 1.0f)
    for (int i = 0; i < ctx.num_tokens; ++i)
      if (valid(ctx.tokens[i])) edit(ctx.tokens[i]).repetition = p.repetition_penalty;
  if (p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
    for (int i = ctx.num_prompt_tokens; i < ctx.num_tokens; ++i) {
      const int32_t t = ctx.tokens[i];
      if (valid(t) && counts_[t]++ == 0) touched_.push_back(t);
    }
    for (int32_t t : touched_) {
      edit(t).penalty = p.frequency_penalty * static_cast<float>(counts_[t]) + p.presence_penalty;
      counts_[t] = 0;
    }
    touched_.clear();
  }
  for (const auto& [t, bias] : p.logit_bias)  // one entry per token (validate_sampling)
    if (valid(t)) edit(t).bias = bias;
  if (ctx.num_tokens - ctx.num_prompt_tokens < p.min_tokens) {
    if (ctx.eos_token_ids)
      for (int32_t t : *ctx.eos_token_ids)
        if (valid(t)) edit(t).masked = 1;
    for (int32_t t : p.stop_token_ids)
      if (valid(t)) edit(t).masked = 1;
  }
  for (size_t j = begin; j < out->size(); ++j) slot_[static_cast<size_t>((*out)[j].token)] = -1;
  spec->edits_begin = static_cast<int32_t>(begin);
  spec->edits_count = static_cast<int32_t>(out->size() - begin);
}

void validate_row_edits(const std::vector<RowSampling>& rows, const std::vector<RowEdit>& edits, int vocab_size) {
  std::vector<int32_t> tokens;
  for (size_t r = 0; r < rows.size(); ++r) {
    const RowSampling& rs = rows[r];
    if (!rs.sampled() || rs.edits_count == 0) continue;
    if (rs.edits_begin < 0 || rs.edits_count < 0 ||
        static_cast<size_t>(rs.edits_begin) + static_cast<size_t>(rs.edits_count) > edits.size())
      throw Error("row edits of row " + std::to_string(r) + " lie outside the step's edits");
    tokens.clear();
    for (int j = 0; j < rs.edits_count; ++j) tokens.push_back(edits[static_cast<size_t>(rs.edits_begin + j)].token);
    std::sort(tokens.begin(), tokens.end());
    if (tokens.front() < 0 || tokens.back() >= vocab_size)
      throw Error("row edits of row " + std::to_string(r) + " name a token outside the vocabulary");
    if (std::adjacent_find(tokens.begin(), tokens.end()) != tokens.end())
      throw Error("row edits of row " + std::to_string(r) + " name a token twice");
  }
}

}  // namespace llm
