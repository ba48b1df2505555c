// Continuous batching. Each step: the running sequences first (decodes and unfinished prefill
// chunks, by (priority, arrival)), then waiting ones admitted by (priority, arrival), all within
// a token budget (max_num_batched_tokens) and max_num_seqs. Prefills are chunked to fit the
// budget, so prefill and decode share a step. When KV blocks run out, the lowest-priority,
// newest running sequence is preempted by recompute (its blocks freed, it goes back to waiting
// with its generated tokens). A waiting request only evicts running ones of strictly lower
// priority (a higher priority number).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/block_manager.h"
#include "core/ngram_proposer.h"
#include "core/sequence.h"

namespace llm {

struct SchedulerConfig {
  int max_num_seqs = 128;
  int max_num_batched_tokens = 2048;
  bool chunked_prefill = true;
  // Speculative decoding by prompt lookup: a decoding sequence whose text repeats gets up to this
  // many draft tokens computed with its next token (0: off). max_model_len caps the drafts.
  int speculative_tokens = 0;
  int max_model_len = 0;
  // A sequence that scores its prompt (prompt_logprobs) computes at most this many prompt
  // tokens per step: each needs a whole logits row.
  int max_scored_prompt_tokens = 256;
  NgramOptions ngram{};
};

struct ScheduledSeq {
  Sequence* seq = nullptr;
  int num_tokens = 0;  // tokens computed for it this step, from seq->num_computed_tokens on
};

struct SchedulerOutput {
  std::vector<ScheduledSeq> scheduled;
  std::vector<Sequence*> preempted;  // preempted during this step (now waiting)
  int num_batched_tokens = 0;
  bool empty() const { return scheduled.empty(); }
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, BlockManager& blocks);

  // Takes ownership; the sequence waits until admitted.
  Sequence* add(std::unique_ptr<Sequence> seq);
  SchedulerOutput schedule();
  // After the forward pass: advances computed counts and registers full blocks in the cache.
  void on_computed(const SchedulerOutput& out);
  // Removes a waiting or running sequence, freeing its blocks; returns it to the caller.
  std::unique_ptr<Sequence> remove(Sequence* seq);

  Sequence* find(const std::string& id) const;
  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  int num_running() const { return static_cast<int>(running_.size()); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }
  int64_t num_preemptions() const { return preemptions_; }
  const std::vector<Sequence*>& running() const { return running_; }
  const std::vector<Sequence*>& waiting() const { return waiting_; }
  BlockManager& blocks() { return blocks_; }

 private:
  void preempt(Sequence* victim, SchedulerOutput& out, int& budget);
  // Appends draft tokens to a decoding sequence (speculative decoding); returns how many.
  int add_draft(Sequence* seq, int budget);

  SchedulerConfig config_;
  BlockManager& blocks_;
  std::unordered_map<std::string, std::unique_ptr<Sequence>> owned_;
  std::vector<Sequence*> running_;
  std::vector<Sequence*> waiting_;
  int64_t preemptions_ = 0;
};

}  // namespace llm
