// prompt_logprobs: the engine scores every prompt token after the first under the raw model,
// exactly as a one-shot prefill's logits give them (bit for bit), also for prompts longer than
// one step's cap, after a prefix-cache entry for the same prompt exists, with max_tokens 0, and
// under preemption (each token scored once).
#include <string>
#include <vector>

#include "collector.h"
#include "sampling/rng.h"
#include "sampling/sampler.h"
#include "testing.h"
#include "tiny_engine.h"

using namespace llm;

namespace {

// 512-token steps, 8 sequences, 1024-token contexts.
struct Rig : TinyEngine {
  explicit Rig(int kv_blocks = 512) : TinyEngine(options(), kv_blocks) {}
  static EngineOptions options() {
    EngineOptions o;
    o.max_num_batched_tokens = 512;
    o.max_num_seqs = 8;
    o.max_model_len = 1024;
    return o;
  }
};

RequestSpec scoring(const std::string& id, const std::vector<int32_t>& prompt, int max_tokens, int k) {
  RequestSpec r = greedy(id, prompt, max_tokens);
  r.sampling.prompt_logprobs = k;
  return r;
}

// The reference: each prompt token's score from one prefill of the whole prompt.
void expect_scores(const Outcome& got, const std::vector<int32_t>& prompt, int k) {
  int vocab = 0;
  const std::vector<float> logits = compute_prompt_logits(testing::model_dir(), prompt, "cpu", 1, &vocab);
  CHECK_EQ(got.prompt_logprobs.size(), prompt.size() - 1);
  for (size_t q = 1; q < prompt.size(); ++q) {
    TokenLogprob want;
    token_logprob(logits.data() + (q - 1) * vocab, vocab, prompt[q], k, &want);
    const TokenLogprob& lp = got.prompt_logprobs[q - 1];
    EXPECT_EQ(lp.token, prompt[q]);
    EXPECT(lp.logprob == want.logprob);
    EXPECT(lp.top == want.top);
  }
}

}  // namespace

TEST(scores_the_prompt_with_max_tokens_zero_and_after_a_cache_entry) {
  Rig rig;
  const auto prompt = byte_prompt(1, 40);
  rig.engine->add(greedy("plain", prompt, 3));  // leaves the prompt's full blocks in the cache
  CHECK(rig.col.wait_finished(1));
  rig.engine->add(scoring("only", prompt, 0, 2));
  CHECK(rig.col.wait_finished(2));
  const Outcome only = rig.col.get("only");
  EXPECT(only.reason == FinishReason::Length);
  EXPECT(only.tokens.empty());
  EXPECT_EQ(only.generated_tokens, 0);
  EXPECT_EQ(only.cached_prompt_tokens, 0);  // computed, not taken from the cache
  expect_scores(only, prompt, 2);
  // With output: the same scores, and the same tokens as without scoring.
  rig.engine->add(scoring("both", prompt, 3, 0));
  CHECK(rig.col.wait_finished(3));
  const Outcome both = rig.col.get("both");
  EXPECT_EQ(both.tokens, rig.col.get("plain").tokens);
  expect_scores(both, prompt, 0);
}

TEST(long_prompts_in_several_steps_and_under_preemption) {
  {
    Rig rig;
    const auto prompt = byte_prompt(2, 600);  // > 256 scored tokens per step: three steps
    rig.engine->add(scoring("long", prompt, 2, 1));
    CHECK(rig.col.wait_finished(1));
    expect_scores(rig.col.get("long"), prompt, 1);
  }
  {
    Rig rig(24);  // 24 blocks of 16 tokens for 6 requests of ~100 tokens: preemption
    std::vector<std::vector<int32_t>> prompts;
    for (int i = 0; i < 6; ++i) {
      prompts.push_back(byte_prompt(10 + i, 60 + 7 * i));
      rig.engine->add(scoring("p" + std::to_string(i), prompts.back(), 40, 0));
    }
    CHECK(rig.col.wait_finished(6));
    EXPECT(rig.engine->stats().preemptions > 0);
    for (int i = 0; i < 6; ++i) expect_scores(rig.col.get("p" + std::to_string(i)), prompts[i], 0);
  }
}
