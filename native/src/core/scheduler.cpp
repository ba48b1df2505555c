#include "core/scheduler.h"

#include <algorithm>

#include "llm/error.h"

namespace llm {

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks)
    : config_(config), blocks_(blocks) {
  if (config.max_num_seqs <= 0) throw Error("max_num_seqs must be positive");
  if (config.max_num_batched_tokens <= 0) throw Error("max_num_batched_tokens must be positive");
}

Sequence* Scheduler::add(std::unique_ptr<Sequence> seq) {
  if (!seq || seq->tokens.empty()) throw Error("scheduler: empty sequence");
  if (owned_.count(seq->id)) throw Error("duplicate request id '" + seq->id + "'");
  Sequence* raw = seq.get();
  raw->status = SeqStatus::Waiting;
  owned_.emplace(raw->id, std::move(seq));
  waiting_.push_back(raw);
  return raw;
}

Sequence* Scheduler::find(const std::string& id) const {
  auto it = owned_.find(id);
  return it == owned_.end() ? nullptr : it->second.get();
}

void Scheduler::preempt(Sequence* victim, SchedulerOutput& out, int& budget) {
  auto it = std::find_if(out.scheduled.begin(), out.scheduled.end(),
                         [&](const ScheduledSeq& s) { return s.seq == victim; });
  if (it != out.scheduled.end()) {
    budget += it->num_tokens;
    out.num_batched_tokens -= it->num_tokens;
    out.scheduled.erase(it);
  }
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  victim->drop_draft();
  blocks_.free(*victim);
  victim->status = SeqStatus::Waiting;
  ++victim->num_preemptions;
  ++preemptions_;
  waiting_.push_back(victim);
  out.preempted.push_back(victim);
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  int budget = config_.max_num_batched_tokens;
  std::sort(running_.begin(), running_.end(), runs_before);

  // 1. Running sequences: decodes (with draft tokens when speculating) and the next chunks of
  // started prefills.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* seq = running_[i];
    int n = std::min(seq->num_uncomputed_tokens(), budget);
    if (seq->scores_prompt()) n = std::min(n, config_.max_scored_prompt_tokens);
    if (n <= 0) {
      ++i;
      continue;
    }
    if (n == 1 && seq->num_uncomputed_tokens() == 1) n += add_draft(seq, budget);
    bool scheduled = false;
    while (true) {
      if (blocks_.allocate(*seq, n)) {
        scheduled = true;
        break;
      }
      if (!seq->draft.empty()) {  // no room for the drafts: decode without them first
        n -= static_cast<int>(seq->draft.size());
        seq->drop_draft();
        continue;
      }
      Sequence* victim = running_.back();  // lowest priority, newest
      preempt(victim, out, budget);
      if (victim == seq) break;
    }
    if (!scheduled) break;  // seq itself was the last running one and got preempted
    out.scheduled.push_back({seq, n});
    out.num_batched_tokens += n;
    budget -= n;
    ++i;
  }

  // 2. Waiting sequences, unless this step already had to preempt.
  if (!out.preempted.empty()) return out;
  std::stable_sort(waiting_.begin(), waiting_.end(), runs_before);
  const std::vector<Sequence*> queue = waiting_;  // preempt() appends to waiting_
  bool admitted = false;
  for (Sequence* seq : queue) {
    if (budget <= 0) break;
    // Room in max_num_seqs: evict a strictly lower-priority running sequence if needed.
    if (static_cast<int>(running_.size()) >= config_.max_num_seqs) {
      Sequence* victim = running_.empty() ? nullptr : running_.back();
      if (!victim || victim->priority <= seq->priority) break;
      preempt(victim, out, budget);
    }
    // A prompt to score is computed, not taken from the cache.
    const std::vector<int32_t> cached =
        seq->scores_prompt() ? std::vector<int32_t>{} : blocks_.find_cached_prefix(*seq);
    const int computed = cached.empty() ? seq->num_computed_tokens
                                        : static_cast<int>(cached.size()) * blocks_.block_size();
    const int remaining = seq->num_tokens() - computed;
    int n = std::min(remaining, budget);
    if (seq->scores_prompt()) n = std::min(n, config_.max_scored_prompt_tokens);
    if (!config_.chunked_prefill && n < remaining) break;
    bool ok = false;
    while (true) {
      if (blocks_.allocate(*seq, n, cached)) {
        ok = true;
        break;
      }
      Sequence* victim = running_.empty() ? nullptr : running_.back();
      if (!victim || victim->priority <= seq->priority) break;
      preempt(victim, out, budget);
    }
    if (!ok) break;  // strict order: nobody behind it jumps the queue
    if (!seq->ever_scheduled) {
      seq->ever_scheduled = true;
      seq->num_cached_prompt_tokens = std::min(seq->num_computed_tokens, seq->num_prompt_tokens);
    }
    seq->status = SeqStatus::Running;
    running_.push_back(seq);
    admitted = true;
    out.scheduled.push_back({seq, n});
    out.num_batched_tokens += n;
    budget -= n;
  }
  if (admitted) {
    waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                  [&](Sequence* s) { return s->status == SeqStatus::Running; }),
                   waiting_.end());
  }
  return out;
}

int Scheduler::add_draft(Sequence* seq, int budget) {
  if (config_.speculative_tokens <= 0) return 0;
  // Drafts past max_tokens (counting the token each step adds anyway) or max_model_len are waste.
  const int cap = std::min({config_.speculative_tokens, budget - 1,
                            seq->sampling.max_tokens - seq->num_output_tokens() - 1,
                            config_.max_model_len > 0 ? config_.max_model_len - seq->num_tokens() : budget});
  if (cap <= 0) return 0;
  // Below 25 % acceptance a draft costs more than it saves (bf16 on a CPU breaks even near 11 %,
  // a small or compute-bound model much higher): draft only every 16th step then.
  if (seq->spec_drafted >= 16 && 4 * seq->spec_accepted < seq->spec_drafted && ++seq->spec_skipped % 16 != 0)
    return 0;
  const int k = propose_ngram_draft(seq->tokens.data(), seq->num_tokens(), cap, config_.ngram, &seq->draft);
  seq->tokens.insert(seq->tokens.end(), seq->draft.begin(), seq->draft.end());
  return k;
}

void Scheduler::on_computed(const SchedulerOutput& out) {
  for (const ScheduledSeq& s : out.scheduled) {
    s.seq->num_computed_tokens += s.num_tokens;
    blocks_.cache_full_blocks(*s.seq);
  }
}

std::unique_ptr<Sequence> Scheduler::remove(Sequence* seq) {
  auto it = owned_.find(seq->id);
  if (it == owned_.end() || it->second.get() != seq) return nullptr;
  std::unique_ptr<Sequence> owned = std::move(it->second);
  owned_.erase(it);
  running_.erase(std::remove(running_.begin(), running_.end(), seq), running_.end());
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), seq), waiting_.end());
  blocks_.free(*seq);
  return owned;
}

}  // namespace llm
