// Speculative decoding by prompt lookup: the n-gram proposer, then the whole engine on the tiny
// fixture: with drafts (concurrent requests, a KV cache small enough to preempt) every request's
// tokens and logprobs are exactly those of plain decoding alone, for greedy, seeded sampling,
// penalties and logprobs, and drafts do get accepted.
#include <string>
#include <vector>

#include "collector.h"
#include "core/ngram_proposer.h"
#include "testing.h"
#include "tiny_engine.h"

using namespace llm;

namespace {

std::vector<int32_t> draft_of(const std::vector<int32_t>& tokens, int max_draft, NgramOptions o = {}) {
  std::vector<int32_t> d;
  const int n = propose_ngram_draft(tokens.data(), static_cast<int>(tokens.size()), max_draft, o, &d);
  EXPECT_EQ(static_cast<size_t>(n), d.size());
  return d;
}

// 64-token steps, 16 sequences, 256-token contexts.
struct Rig : TinyEngine {
  Rig(int speculative_tokens, int kv_blocks) : TinyEngine(options(speculative_tokens), kv_blocks) {}
  static EngineOptions options(int speculative_tokens) {
    EngineOptions o;
    o.max_num_batched_tokens = 64;
    o.max_num_seqs = 16;
    o.max_model_len = 256;
    o.speculative_tokens = speculative_tokens;
    return o;
  }
};

// Prompts whose text repeats (drafts to propose) and one that does not; several sampling setups.
std::vector<RequestSpec> requests() {
  std::vector<std::vector<int32_t>> prompts = {
      {10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12},
      {40, 41, 40, 41, 40, 41, 40},
      {7, 99, 23, 150, 61, 8, 200, 31, 77},
      {5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 5, 6},
  };
  std::vector<RequestSpec> out;
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int variant = 0; variant < 4; ++variant) {
      RequestSpec r = greedy("r" + std::to_string(p) + "-" + std::to_string(variant), prompts[p], 40);
      if (variant == 1) {  // seeded sampling
        r.sampling.temperature = 0.8f;
        r.sampling.top_p = 0.9f;
        r.sampling.seed = 1234 + p;
      } else if (variant == 2) {  // penalties see the accepted draft tokens as generated ones
        r.sampling.repetition_penalty = 1.3f;
        r.sampling.frequency_penalty = 0.4f;
        r.sampling.presence_penalty = 0.2f;
      } else if (variant == 3) {  // logprobs of every token, EOS honoured
        r.sampling.logprobs = 2;
        r.sampling.ignore_eos = false;
        r.sampling.max_tokens = 60;
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

TEST(ngram_proposer_copies_what_followed_the_latest_match) {
  EXPECT(draft_of({1, 2, 3, 4, 5}, 4).empty());                       // nothing repeats
  EXPECT(draft_of({1, 2, 3}, 0).empty());                              // no room
  EXPECT_EQ(draft_of({1, 2, 3, 9, 1, 2, 3, 7, 1, 2, 3}, 1), std::vector<int32_t>({7}));  // latest match
  // The longest n-gram wins over a later, shorter match: "1 2 3" -> 4, not "3" -> 8.
  EXPECT_EQ(draft_of({1, 2, 3, 4, 9, 3, 8, 1, 2, 3}, 2), std::vector<int32_t>({4, 9}));
  // A repeating period continues into the draft itself.
  EXPECT_EQ(draft_of({5, 6, 5, 6, 5, 6}, 5), std::vector<int32_t>({5, 6, 5, 6, 5}));
  EXPECT_EQ(draft_of({8, 8}, 3), std::vector<int32_t>({8, 8, 8}));
  // min_ngram 2: a single repeated token is not enough.
  NgramOptions two{2, 3};
  EXPECT(draft_of({1, 9, 2, 9}, 3, two).empty());
  EXPECT_EQ(draft_of({1, 9, 2, 1, 9}, 3, two), std::vector<int32_t>({2, 1, 9}));
}

TEST(speculative_decoding_outputs_equal_plain_decoding) {
  const std::vector<RequestSpec> reqs = requests();
  std::vector<Outcome> plain;
  {
    Rig rig(0, 512);
    for (size_t i = 0; i < reqs.size(); ++i) {  // one at a time
      rig.engine->add(reqs[i]);
      CHECK(rig.col.wait_finished(static_cast<int>(i) + 1));
      plain.push_back(rig.col.get(reqs[i].id));
    }
    EXPECT_EQ(rig.engine->stats().spec_draft_tokens, 0);
  }
  for (int kv_blocks : {512, 24}) {  // 24 blocks: preemption while drafts are scheduled
    Rig rig(5, kv_blocks);
    for (const RequestSpec& r : reqs) rig.engine->add(r);
    CHECK(rig.col.wait_finished(static_cast<int>(reqs.size())));
    for (size_t i = 0; i < reqs.size(); ++i) {
      const Outcome got = rig.col.get(reqs[i].id);
      EXPECT_EQ(got.tokens, plain[i].tokens);
      EXPECT(got.reason == plain[i].reason);
      EXPECT_EQ(got.generated_tokens, plain[i].generated_tokens);
      CHECK_EQ(got.logprobs.size(), plain[i].logprobs.size());
      for (size_t t = 0; t < got.logprobs.size(); ++t) {
        EXPECT_EQ(got.logprobs[t].token, plain[i].logprobs[t].token);
        EXPECT(got.logprobs[t].logprob == plain[i].logprobs[t].logprob);
        EXPECT(got.logprobs[t].top == plain[i].logprobs[t].top);
      }
    }
    const EngineStats s = rig.engine->stats();
    std::fprintf(stderr, "  %d KV blocks: %lld of %lld draft tokens accepted, %lld preemptions, %lld steps\n",
                 kv_blocks, static_cast<long long>(s.spec_accepted_tokens),
                 static_cast<long long>(s.spec_draft_tokens), static_cast<long long>(s.preemptions),
                 static_cast<long long>(s.steps));
    EXPECT(s.spec_accepted_tokens > 0);
    EXPECT(s.spec_accepted_tokens <= s.spec_draft_tokens);
    if (kv_blocks < 100) EXPECT(s.preemptions > 0);
    EXPECT_EQ(s.kv_blocks_used, 0);
  }
}
