// The whole engine over the real CPU backend and the tiny fixture model: batch invariance
// (alone / among 15 others / after preemption and recompute / with a prefix-cache hit),
// priorities with a KV cache too small, and a 200-request stress with random aborts. Skips
// (exit 77) when the fixture is absent (native/scripts/test.mjs generates it).
#include <algorithm>
#include <thread>

#include "backend/backend.h"
#include "collector.h"
#include "gated_backend.h"
#include "model/model.h"
#include "runtime/engine_impl.h"
#include "sampling/rng.h"
#include "testing.h"

using namespace llm;

namespace {

struct Rig {
  Collector col;
  std::unique_ptr<Engine> engine;
  int vocab = 0;

  // kv_blocks > 0: a KV cache of exactly that many blocks of 16 tokens.
  explicit Rig(int kv_blocks = 0, int max_num_batched_tokens = 256, int max_num_seqs = 64,
               std::shared_ptr<testing_support::Gate> gate = nullptr) {
    const std::string dir = testing::model_dir();
    if (dir.empty()) SKIP("tiny model fixture not found (set LLM_TEST_MODEL_DIR)");
    auto model = Model::load(dir);
    vocab = model->config().vocab_size;
    std::unique_ptr<Backend> backend = make_cpu_backend(model, 1);
    if (gate) backend = std::make_unique<testing_support::GatedBackend>(std::move(backend), gate);
    EngineOptions o;
    o.model_path = dir;
    o.max_num_batched_tokens = max_num_batched_tokens;
    o.max_num_seqs = max_num_seqs;
    o.max_model_len = 1024;
    if (kv_blocks > 0) o.kv_cache_bytes = static_cast<int64_t>(backend->kv_block_bytes(16)) * kv_blocks;
    else o.kv_cache_bytes = static_cast<int64_t>(backend->kv_block_bytes(16)) * 2048;
    engine = create_engine(model, std::move(backend), o, col.sink());
  }
};

std::vector<int32_t> prompt_of(int seed, int len, int vocab) {
  std::vector<int32_t> p;
  uint64_t x = static_cast<uint64_t>(seed) * 104729 + 3;
  for (int i = 0; i < len; ++i) p.push_back(static_cast<int32_t>(Rng::splitmix64(x) % 256));  // byte tokens
  (void)vocab;
  return p;
}

}  // namespace

TEST(batch_invariance_alone_concurrent_preempted_prefix_hit) {
  constexpr int kN = 16, kGen = 24;
  std::vector<std::vector<int32_t>> prompts, alone;
  {
    Rig rig;
    for (int i = 0; i < kN; ++i) prompts.push_back(prompt_of(i, 5 + (i * 13) % 40, rig.vocab));
    for (int i = 0; i < kN; ++i) {
      rig.engine->add(greedy("a" + std::to_string(i), prompts[i], kGen));
      CHECK(rig.col.wait_finished(i + 1));
      alone.push_back(rig.col.get("a" + std::to_string(i)).tokens);
      CHECK_EQ(alone.back().size(), size_t{kGen});
    }
  }
  {  // all 16 at once, plenty of KV: one batch, mixed prefill chunks and decodes
    Rig rig(0, 64);
    for (int i = 0; i < kN; ++i) rig.engine->add(greedy("c" + std::to_string(i), prompts[i], kGen));
    CHECK(rig.col.wait_finished(kN));
    for (int i = 0; i < kN; ++i) EXPECT_EQ(rig.col.get("c" + std::to_string(i)).tokens, alone[i]);
    EXPECT_EQ(rig.engine->stats().preemptions, 0);
  }
  {  // a KV cache far too small: preemption by recompute must not change anything
    Rig rig(12, 64);
    for (int i = 0; i < kN; ++i) rig.engine->add(greedy("p" + std::to_string(i), prompts[i], kGen));
    CHECK(rig.col.wait_finished(kN));
    for (int i = 0; i < kN; ++i) EXPECT_EQ(rig.col.get("p" + std::to_string(i)).tokens, alone[i]);
    EngineStats s = rig.engine->stats();
    EXPECT(s.preemptions > 0);
    EXPECT_EQ(s.kv_blocks_used, 0);
    std::fprintf(stderr, "  preemptions: %lld\n", static_cast<long long>(s.preemptions));
  }
  {  // prefix-cache hit: the same prompt again reuses its full blocks
    Rig rig;
    const int longest = static_cast<int>(std::max_element(prompts.begin(), prompts.end(),
                                                           [](auto& a, auto& b) { return a.size() < b.size(); }) -
                                         prompts.begin());
    rig.engine->add(greedy("first", prompts[longest], kGen));
    CHECK(rig.col.wait_finished(1));
    rig.engine->add(greedy("again", prompts[longest], kGen));
    CHECK(rig.col.wait_finished(2));
    Outcome again = rig.col.get("again");
    EXPECT(again.cached_prompt_tokens >= 16);
    EXPECT_EQ(again.tokens, alone[longest]);
    EXPECT(rig.engine->stats().prefix_cache_hits > 0);
  }
}

TEST(priorities_with_a_kv_cache_too_small) {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> alone;
  {
    Rig rig;
    for (int i = 0; i < 8; ++i) {
      prompts.push_back(prompt_of(100 + i, 30, rig.vocab));
      rig.engine->add(greedy("a" + std::to_string(i), prompts[i], 40));
      CHECK(rig.col.wait_finished(i + 1));
      alone.push_back(rig.col.get("a" + std::to_string(i)).tokens);
    }
  }
  auto gate = std::make_shared<testing_support::Gate>();
  Rig rig(10, 64, 64, gate);  // 160 tokens of cache: two requests of 70 tokens fit at once
  // Hold the engine in the lows' first step while the highs arrive, so all three reach the
  // scheduler in the same step whatever the machine's load.
  gate->close();
  for (int i = 0; i < 5; ++i) rig.engine->add(greedy("low" + std::to_string(i), prompts[i], 40, 10));
  CHECK(gate->wait_held());
  for (int i = 5; i < 8; ++i) rig.engine->add(greedy("high" + std::to_string(i), prompts[i], 40, 0));
  gate->open();
  CHECK(rig.col.wait_finished(8));
  int last_high = -1;
  for (int i = 5; i < 8; ++i) {
    Outcome o = rig.col.get("high" + std::to_string(i));
    last_high = std::max(last_high, o.finish_order);
    EXPECT_EQ(o.tokens, alone[i]);
  }
  int lows_before = 0;
  for (int i = 0; i < 5; ++i) {
    Outcome o = rig.col.get("low" + std::to_string(i));
    EXPECT_EQ(o.tokens, alone[i]);  // preempted ones still finish correctly
    if (o.finish_order < last_high) ++lows_before;
  }
  EXPECT(lows_before <= 1);
  EngineStats s = rig.engine->stats();
  EXPECT(s.preemptions > 0);
  EXPECT_EQ(s.kv_blocks_used, 0);
}

TEST(stress_200_requests_random_aborts_tiny_cache) {
  Rig rig(24, 96, 32);
  uint64_t x = 99;
  auto rnd = [&](int n) { return static_cast<int>(Rng::splitmix64(x) % static_cast<uint64_t>(n)); };
  std::vector<int> maxes(200);
  for (int i = 0; i < 200; ++i) {
    maxes[i] = 1 + rnd(48);
    RequestSpec r = greedy("s" + std::to_string(i), prompt_of(500 + i, 1 + rnd(90), rig.vocab), maxes[i], rnd(3));
    if (rnd(3) == 0) {
      r.sampling.temperature = 0.7f;
      r.sampling.top_p = 0.9f;
      r.sampling.seed = static_cast<uint64_t>(i);
    }
    if (rnd(4) == 0) r.sampling.logprobs = rnd(5);
    rig.engine->add(r);
    if (rnd(6) == 0) rig.engine->abort("s" + std::to_string(rnd(i + 1)));
    if (rnd(8) == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  CHECK(rig.col.wait_finished(200, 300000));
  int finished = 0, aborted = 0;
  for (int i = 0; i < 200; ++i) {
    Outcome o = rig.col.get("s" + std::to_string(i));
    CHECK(o.finished);
    if (o.reason == FinishReason::Abort) {
      ++aborted;
      continue;
    }
    EXPECT(o.reason == FinishReason::Length);
    EXPECT_EQ(static_cast<int>(o.tokens.size()), maxes[i]);
    ++finished;
  }
  EngineStats s = rig.engine->stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.running + s.waiting, 0);
  EXPECT(s.preemptions > 0);
  EXPECT_EQ(rig.col.events_after_finish(), 0);
  std::fprintf(stderr, "  stress: %d finished, %d aborted, %lld preemptions, %lld steps\n", finished, aborted,
               static_cast<long long>(s.preemptions), static_cast<long long>(s.steps));
  rig.engine->close();
}

TEST(engine_create_loads_the_model_and_falls_back_to_cpu) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("tiny model fixture not found");
  Collector col;
  std::vector<std::string> logs;
  EngineOptions o;
  o.model_path = dir;
  o.threads = 1;
  o.device = "auto";
  auto engine = Engine::create(o, col.sink(), [&](const std::string& m) { logs.push_back(m); });
  EXPECT(engine->info().backend == "cpu" || engine->info().backend == "cuda");
  EXPECT(!logs.empty());
  EXPECT_EQ(engine->info().path, dir);
  o.model_path = dir + "/does-not-exist";
  EXPECT_THROWS(Engine::create(o, col.sink()), "does-not-exist");
  std::vector<float> logits = compute_prompt_logits(dir, {1, 2, 3}, "cpu", 1);
  EXPECT_EQ(logits.size(), size_t{3} * engine->info().vocab_size);
  EXPECT_THROWS(compute_prompt_logits(dir, {}, "cpu", 1), "empty");
}
