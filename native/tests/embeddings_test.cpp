// Embed requests: the engine returns the final-normed hidden state of the last prompt token
// (what the lm_head multiplies), checked against the float64 reference forward; the same vector
// for the same prompt whatever else runs in the batch, after a prefix-cache hit, for prompts
// longer than one step, and under preemption; no tokens are generated.
#include <cmath>
#include <string>
#include <vector>

#include "collector.h"
#include "cpu_reference.h"
#include "llm/error.h"
#include "sampling/rng.h"
#include "testing.h"
#include "tiny_engine.h"

using namespace llm;

namespace {

struct Rig : TinyEngine {
  explicit Rig(int kv_blocks = 512) : TinyEngine(options(), kv_blocks) {}
  static EngineOptions options() {
    EngineOptions o;
    o.max_num_batched_tokens = 256;
    o.max_num_seqs = 8;
    o.max_model_len = 1024;
    return o;
  }
};

RequestSpec embed(const std::string& id, const std::vector<int32_t>& prompt) {
  RequestSpec r = greedy(id, prompt, 16);  // max_tokens is ignored
  r.embed = true;
  return r;
}

// The reference's last row, and the largest difference from it.
double diff_from_reference(const std::vector<float>& got, const std::vector<int32_t>& prompt) {
  auto model = Model::load(testing::model_dir());
  const size_t hidden = model->config().hidden_size;
  const std::vector<double> want = ref::final_hidden(*model, prompt);
  if (got.size() != hidden) return 1e9;
  double d = 0;
  for (size_t i = 0; i < hidden; ++i) d = std::max(d, std::abs(got[i] - want[(prompt.size() - 1) * hidden + i]));
  return d;
}

}  // namespace

TEST(returns_the_last_tokens_final_hidden_state_and_generates_nothing) {
  Rig rig;
  const auto prompt = byte_prompt(1, 37);
  rig.engine->add(embed("e", prompt));
  CHECK(rig.col.wait_finished(1));
  const Outcome e = rig.col.get("e");
  EXPECT(e.reason == FinishReason::Stop);
  EXPECT(e.tokens.empty());
  EXPECT_EQ(e.generated_tokens, 0);
  EXPECT_EQ(e.prompt_tokens, 37);
  EXPECT_EQ(static_cast<int>(e.embedding.size()), rig.engine->info().hidden_size);
  EXPECT(diff_from_reference(e.embedding, prompt) < 1e-4);
  EXPECT(rig.engine->info().embeddings);
}

TEST(the_same_vector_beside_generation_after_a_cache_hit_over_several_steps_and_preempted) {
  const auto prompt = byte_prompt(2, 40);
  const auto long_prompt = byte_prompt(3, 600);  // three 256-token steps
  std::vector<float> alone, long_alone;
  {
    Rig rig;
    rig.engine->add(embed("alone", prompt));
    rig.engine->add(embed("long", long_prompt));
    CHECK(rig.col.wait_finished(2));
    alone = rig.col.get("alone").embedding;
    long_alone = rig.col.get("long").embedding;
    EXPECT(diff_from_reference(long_alone, long_prompt) < 1e-4);
  }
  {
    Rig rig;
    rig.engine->add(greedy("gen", prompt, 20));  // its prompt blocks enter the prefix cache
    rig.engine->add(greedy("other", byte_prompt(4, 70), 20));
    rig.engine->add(embed("beside", prompt));
    CHECK(rig.col.wait_finished(3));
    rig.engine->add(embed("cached", prompt));
    CHECK(rig.col.wait_finished(4));
    EXPECT(rig.col.get("beside").embedding == alone);
    EXPECT(rig.col.get("cached").embedding == alone);
    EXPECT(rig.col.get("cached").cached_prompt_tokens > 0);
    EXPECT_EQ(static_cast<int>(rig.col.get("gen").tokens.size()), 20);
  }
  {
    Rig rig(24);  // 24 blocks of 16 tokens: generating requests preempt each other
    for (int i = 0; i < 5; ++i) rig.engine->add(greedy("g" + std::to_string(i), byte_prompt(10 + i, 60), 60));
    rig.engine->add(embed("squeezed", prompt));
    CHECK(rig.col.wait_finished(6));
    EXPECT(rig.engine->stats().preemptions > 0);
    EXPECT(rig.col.get("squeezed").embedding == alone);
  }
}

TEST(refuses_an_embed_request_that_asks_for_prompt_logprobs) {
  Rig rig;
  RequestSpec r = embed("x", byte_prompt(5, 8));
  r.sampling.prompt_logprobs = 1;
  bool threw = false;
  try {
    rig.engine->add(r);
  } catch (const Error& e) {
    threw = std::string(e.what()).find("prompt logprobs") != std::string::npos;
  }
  EXPECT(threw);
}
