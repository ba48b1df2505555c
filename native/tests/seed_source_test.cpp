// Seeds of unseeded requests: distinct per call (also across threads), and two unseeded
// sampled requests over the same prompt draw different tokens while seeded ones agree.
#include <set>
#include <thread>

#include "collector.h"
#include "fake_backend.h"
#include "runtime/engine_impl.h"
#include "runtime/seed_source.h"
#include "testing.h"

using namespace llm;

TEST(seeds_are_distinct_per_call) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 100000; ++i) seen.insert(next_request_seed());
  EXPECT_EQ(seen.size(), size_t{100000});
}

TEST(seeds_are_distinct_across_threads) {
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::vector<uint64_t>> per(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&per, t] {
      for (int i = 0; i < kEach; ++i) per[t].push_back(next_request_seed());
    });
  for (auto& t : ts) t.join();
  std::set<uint64_t> seen;
  for (const auto& v : per) seen.insert(v.begin(), v.end());
  EXPECT_EQ(seen.size(), size_t{kThreads * kEach});
}

TEST(unseeded_requests_sample_differently_seeded_ones_alike) {
  constexpr int kVocab = 40;
  Collector col;
  auto model = std::make_shared<fake::FakeModel>(kVocab, 512, std::vector<int32_t>{1});
  auto backend = std::make_unique<fake::FakeBackend>(kVocab, std::make_shared<fake::Control>());
  auto engine = create_engine(model, std::move(backend), EngineOptions{}, col.sink());
  auto req = [](const std::string& id, std::optional<uint64_t> seed) {
    RequestSpec r;
    r.id = id;
    r.prompt_tokens = {5, 6, 7, 8};
    r.sampling.temperature = 1.5f;
    r.sampling.max_tokens = 24;
    r.sampling.ignore_eos = true;
    r.sampling.seed = seed;
    return r;
  };
  engine->add(req("u1", std::nullopt));
  engine->add(req("u2", std::nullopt));
  engine->add(req("s1", 7));
  engine->add(req("s2", 7));
  CHECK(col.wait_finished(4));
  EXPECT_EQ(col.get("u1").tokens.size(), size_t{24});
  EXPECT(col.get("u1").tokens != col.get("u2").tokens);
  EXPECT_EQ(col.get("s1").tokens, col.get("s2").tokens);
}
