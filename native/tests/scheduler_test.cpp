// Scheduler: continuous batching, token budget, chunked prefill, priorities, preemption.
#include <algorithm>
#include <memory>

#include "core/model_runner.h"
#include "core/scheduler.h"
#include "testing.h"

using namespace llm;

namespace {

struct Harness {
  BlockManager bm;
  Scheduler sched;
  uint64_t arrival = 0;
  Harness(int blocks, int block_size, int max_seqs, int budget, bool prefix = true)
      : bm(blocks, block_size, prefix), sched({max_seqs, budget, true}, bm) {}

  Sequence* add(const std::string& id, int prompt_len, int priority = 0, int first_token = 0) {
    auto s = std::make_unique<Sequence>();
    s->id = id;
    s->priority = priority;
    s->arrival = arrival++;
    for (int i = 0; i < prompt_len; ++i) s->tokens.push_back(first_token + i);
    s->num_prompt_tokens = prompt_len;
    return sched.add(std::move(s));
  }

  // One engine step without a model: compute, then every sequence that completed its tokens
  // "samples" token 7.
  SchedulerOutput step() {
    SchedulerOutput out = sched.schedule();
    StepBatch sb = build_step_batch(out, bm.block_size());
    sched.on_computed(out);
    for (Sequence* s : sb.samplers) s->tokens.push_back(7);
    return out;
  }

  int tokens_for(const SchedulerOutput& out, const Sequence* s) {
    for (const auto& x : out.scheduled)
      if (x.seq == s) return x.num_tokens;
    return 0;
  }

  void finish(Sequence* s) { sched.remove(s); }
};

}  // namespace

TEST(prefill_then_decode) {
  Harness h(64, 4, 8, 64);
  Sequence* a = h.add("a", 10);
  auto out = h.step();
  EXPECT_EQ(h.tokens_for(out, a), 10);
  EXPECT_EQ(a->num_computed_tokens, 10);
  EXPECT_EQ(a->num_tokens(), 11);
  out = h.step();
  EXPECT_EQ(h.tokens_for(out, a), 1);
  EXPECT_EQ(h.sched.num_running(), 1);
  h.finish(a);
  EXPECT_EQ(h.bm.num_free_blocks(), 64);
}

TEST(chunked_prefill_shares_a_step_with_decodes) {
  Harness h(64, 4, 8, 8);
  Sequence* a = h.add("a", 3);
  h.step();  // a prefilled (3 tokens), now decoding
  Sequence* b = h.add("b", 20);
  auto out = h.step();
  EXPECT_EQ(h.tokens_for(out, a), 1);  // decode first
  EXPECT_EQ(h.tokens_for(out, b), 7);  // then a chunk of b within the budget of 8
  EXPECT_EQ(out.num_batched_tokens, 8);
  EXPECT_EQ(b->num_tokens(), 20);  // no sample for a partial prefill
  out = h.step();
  EXPECT_EQ(h.tokens_for(out, a), 1);
  EXPECT_EQ(h.tokens_for(out, b), 7);
  out = h.step();
  EXPECT_EQ(h.tokens_for(out, b), 6);
  EXPECT_EQ(b->num_tokens(), 21);  // sampled after its last chunk
  h.finish(a);
  h.finish(b);
  EXPECT_EQ(h.bm.num_free_blocks(), 64);
}

TEST(max_num_seqs_limits_running) {
  Harness h(64, 4, 2, 1000);
  h.add("a", 4);
  h.add("b", 4);
  Sequence* c = h.add("c", 4);
  auto out = h.step();
  EXPECT_EQ(out.scheduled.size(), size_t{2});
  EXPECT_EQ(h.sched.num_waiting(), 1);
  EXPECT_EQ(c->status, SeqStatus::Waiting);
}

TEST(admits_by_priority_then_arrival) {
  Harness h(64, 4, 2, 1000);
  Sequence* low = h.add("low", 4, 5);
  Sequence* high1 = h.add("high1", 4, 0);
  Sequence* high2 = h.add("high2", 4, 0);
  auto out = h.step();
  EXPECT_EQ(h.tokens_for(out, high1), 4);
  EXPECT_EQ(h.tokens_for(out, high2), 4);
  EXPECT_EQ(h.tokens_for(out, low), 0);
}

TEST(preempts_lowest_priority_newest_when_blocks_run_out) {
  // 4 blocks of 4 tokens. Three sequences of 4 tokens each fill 3 blocks; decodes need more.
  Harness h(4, 4, 8, 1000);
  Sequence* a = h.add("a", 4, 0);
  Sequence* b = h.add("b", 4, 1);
  Sequence* c = h.add("c", 4, 0);
  h.step();  // 3 blocks used; each now has 5 tokens -> each needs a 2nd block to decode
  EXPECT_EQ(h.bm.num_free_blocks(), 1);
  auto out = h.step();
  // Order is (0,a), (0,c), (1,b): a takes the free block, c forces out b (lowest priority).
  EXPECT_EQ(out.preempted.size(), size_t{1});
  EXPECT(out.preempted[0] == b);
  EXPECT_EQ(h.tokens_for(out, a), 1);
  EXPECT_EQ(h.tokens_for(out, c), 1);
  EXPECT_EQ(b->status, SeqStatus::Waiting);
  EXPECT_EQ(b->num_computed_tokens, 0);
  EXPECT_EQ(b->num_tokens(), 5);  // its generated token is kept for the recompute
  EXPECT_EQ(h.sched.num_preemptions(), 1);
  h.finish(a);
  out = h.step();  // b comes back: its full first block is still in the prefix cache, so only
                   // its generated token is recomputed
  EXPECT_EQ(h.tokens_for(out, b), 1);
  EXPECT_EQ(b->num_computed_tokens, 5);
  h.finish(b);
  h.finish(c);
  EXPECT_EQ(h.bm.num_free_blocks(), 4);
}

TEST(newest_of_equal_priority_is_the_victim) {
  Harness h(4, 4, 8, 1000);
  Sequence* a = h.add("a", 4);
  Sequence* b = h.add("b", 4);
  Sequence* c = h.add("c", 4);
  h.step();
  auto out = h.step();
  CHECK_EQ(out.preempted.size(), size_t{1});
  EXPECT(out.preempted[0] == c);
  EXPECT_EQ(h.tokens_for(out, a), 1);
  EXPECT_EQ(h.tokens_for(out, b), 1);
}

TEST(a_sequence_can_preempt_itself_when_it_is_the_lowest) {
  Harness h(2, 4, 8, 1000);
  Sequence* a = h.add("a", 4, 0);
  Sequence* b = h.add("b", 4, 9);
  h.step();
  auto out = h.step();  // a needs a block: b (lower priority) goes
  EXPECT(out.preempted.size() == 1 && out.preempted[0] == b);
  EXPECT_EQ(h.tokens_for(out, a), 1);
  (void)a;
}

TEST(waiting_never_evicts_equal_or_higher_priority) {
  Harness h(3, 4, 8, 1000);
  Sequence* a = h.add("a", 8, 1);  // 2 blocks; its first decode takes the 3rd
  h.step();
  Sequence* b = h.add("b", 4, 1, 100);  // equal priority: waits
  auto out = h.step();
  EXPECT(out.preempted.empty());
  EXPECT_EQ(b->status, SeqStatus::Waiting);
  EXPECT_EQ(a->status, SeqStatus::Running);
}

TEST(waiting_higher_priority_evicts_lower_priority_running) {
  Harness h(3, 4, 8, 1000);
  Sequence* low = h.add("low", 8, 5);
  h.step();  // low has 9 tokens, 2 blocks... decodes fill a 3rd block
  h.step();
  EXPECT_EQ(h.bm.num_free_blocks(), 0);
  Sequence* high = h.add("high", 6, 0, 100);
  auto out = h.step();
  // high needs 2 blocks: low is preempted (possibly after being scheduled this step).
  EXPECT_EQ(high->status, SeqStatus::Running);
  EXPECT_EQ(h.tokens_for(out, high), 6);
  EXPECT_EQ(low->status, SeqStatus::Waiting);
  EXPECT_EQ(h.tokens_for(out, low), 0);
  EXPECT_EQ(out.num_batched_tokens, 6);
}

TEST(higher_priority_waiting_takes_a_seq_slot) {
  Harness h(64, 4, 1, 1000);
  Sequence* low = h.add("low", 4, 3);
  h.step();
  Sequence* high = h.add("high", 4, 0);
  auto out = h.step();
  EXPECT_EQ(h.tokens_for(out, high), 4);
  EXPECT_EQ(low->status, SeqStatus::Waiting);
  EXPECT_EQ(h.sched.num_running(), 1);
}

TEST(prefix_cache_hit_skips_computed_blocks) {
  Harness h(64, 4, 8, 1000);
  Sequence* a = h.add("a", 10);
  h.step();
  h.finish(a);
  Sequence* b = h.add("b", 12);  // same first 10 tokens (0..9), 2 full blocks cached
  auto out = h.step();
  EXPECT_EQ(h.tokens_for(out, b), 4);
  EXPECT_EQ(b->num_cached_prompt_tokens, 8);
  EXPECT_EQ(b->num_computed_tokens, 12);
}

TEST(no_leaks_after_many_random_steps) {
  Harness h(12, 4, 6, 16);
  uint64_t x = 42;
  auto rnd = [&](int n) { return static_cast<int>(Rng::splitmix64(x) % static_cast<uint64_t>(n)); };
  int next = 0;
  std::vector<Sequence*> live;
  for (int stepi = 0; stepi < 400; ++stepi) {
    if (rnd(3) == 0 && next < 120) live.push_back(h.add("r" + std::to_string(next++), 1 + rnd(30), rnd(3), rnd(5) * 4));
    if (!h.sched.has_work()) continue;
    h.step();
    CHECK(h.bm.num_used_blocks() <= h.bm.num_blocks());
    for (auto it = live.begin(); it != live.end();) {
      Sequence* s = *it;
      if (s->num_output_tokens() >= 1 + static_cast<int>(s->id.size() % 5) || rnd(50) == 0) {
        h.finish(s);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Sequence* s : live) h.finish(s);
  EXPECT_EQ(h.bm.num_free_blocks(), 12);
  EXPECT(h.sched.num_preemptions() > 0);
}

// Speculative decoding: a decoding sequence whose text repeats gets drafts (within the budget and
// max_tokens); one whose drafts keep being rejected drafts only every 16th step.
TEST(drafts_for_repeating_text_and_back_off_when_rejected) {
  BlockManager bm(64, 4, true);
  SchedulerConfig c;
  c.max_num_seqs = 8;
  c.max_num_batched_tokens = 64;
  c.speculative_tokens = 3;
  c.max_model_len = 200;
  Scheduler sched(c, bm);
  auto s = std::make_unique<Sequence>();
  s->id = "a";
  s->tokens = {1, 2, 1, 2, 1, 2};
  s->num_prompt_tokens = 6;
  s->sampling.max_tokens = 100;
  Sequence* a = sched.add(std::move(s));
  // Like the engine: drafts come off before on_computed; `token` is what sampling produced.
  auto decode_step = [&](int32_t token) {
    SchedulerOutput out = sched.schedule();
    CHECK_EQ(out.scheduled.size(), size_t{1});
    const int drafts = static_cast<int>(a->draft.size());
    EXPECT_EQ(out.scheduled[0].num_tokens, a->num_uncomputed_tokens());
    out.scheduled[0].num_tokens -= drafts;
    a->drop_draft();
    sched.on_computed(out);
    a->tokens.push_back(token);
    return drafts;
  };
  EXPECT_EQ(decode_step(1), 0);  // the prompt's prefill
  EXPECT_EQ(decode_step(2), 3);  // "... 1 2 1": drafts 2 1 2
  // Rejected drafts: after 16 drafted and none accepted, only every 16th step drafts.
  a->spec_drafted = 16;
  a->spec_accepted = 0;
  int drafted_steps = 0;
  for (int i = 0; i < 32; ++i) drafted_steps += decode_step(i % 2 ? 2 : 1) > 0;
  EXPECT_EQ(drafted_steps, 2);
  // Accepted drafts: every step drafts again, never past max_tokens.
  a->spec_accepted = a->spec_drafted;
  a->sampling.max_tokens = a->num_output_tokens() + 3;
  EXPECT_EQ(decode_step(1), 2);  // room for 3 more tokens: the step's own and 2 drafts
}
