// One request inside the engine: its tokens (prompt, then generated), how many of them have K/V
// in the cache, its block table, and its sampling state. Owned by the Scheduler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/engine.h"
#include "sampling/token_constraint.h"
#include "sampling/rng.h"

namespace llm {

enum class SeqStatus { Waiting, Running, Finished };

struct Sequence {
  std::string id;
  uint64_t arrival = 0;  // admission order tie-break: lower first
  int priority = 0;      // lower number runs first
  std::string cache_salt;
  SamplingParams sampling;
  bool embed = false;  // RequestSpec::embed: ends after its prompt with the last hidden state

  std::vector<int32_t> tokens;  // prompt tokens, then generated tokens
  // Speculative decoding: draft tokens appended to `tokens` for one step (their K/V computed with
  // the last sampled token), taken off again before sampling verifies them.
  std::vector<int32_t> draft;
  // Recent drafts and acceptances (halved as they grow): a sequence whose drafts keep failing
  // stops paying for them, and tries again now and then.
  int spec_drafted = 0, spec_accepted = 0, spec_skipped = 0;
  // sampling.prompt_logprobs >= 0: the prompt tokens before this position have been scored
  // (kept through preemption, so a recomputed prompt is not reported twice).
  int prompt_scored = 1;
  int num_prompt_tokens = 0;
  int num_computed_tokens = 0;       // tokens whose K/V are in the cache
  std::vector<int32_t> block_table;  // physical block ids, in order
  std::vector<uint64_t> block_hashes;  // prefix-cache hash chain of the full token blocks
  int num_cached_blocks = 0;  // leading blocks already registered in the prefix cache

  SeqStatus status = SeqStatus::Waiting;
  FinishReason finish_reason = FinishReason::None;
  std::string error;
  int num_cached_prompt_tokens = 0;  // prefix-cache hit when first scheduled
  bool ever_scheduled = false;
  int num_preemptions = 0;

  Rng rng;
  std::unique_ptr<TokenConstraint> constraint;  // response_format json_object / json_schema
  RequestTimings timings;

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_output_tokens() const { return num_tokens() - num_prompt_tokens; }
  int num_uncomputed_tokens() const { return num_tokens() - num_computed_tokens; }
  void drop_draft() {
    tokens.resize(tokens.size() - draft.size());
    draft.clear();
  }
  bool is_finished() const { return status == SeqStatus::Finished; }
  bool scores_prompt() const { return sampling.prompt_logprobs >= 0 && prompt_scored < num_prompt_tokens; }
};

// (priority, arrival) ascending: the order of admission; its last element is the first victim.
inline bool runs_before(const Sequence* a, const Sequence* b) {
  if (a->priority != b->priority) return a->priority < b->priority;
  return a->arrival < b->arrival;
}

}  // namespace llm
