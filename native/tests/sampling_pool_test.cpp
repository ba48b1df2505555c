// SamplingPool: the rows of a step sampled on several threads give exactly the tokens and
// logprobs of one Sampler going through them in order, step after step.
#include <random>

#include "runtime/sampling_pool.h"
#include "testing.h"

using namespace llm;

namespace {
constexpr int kVocab = 1000;

struct Row {
  SamplingParams params;
  std::vector<int32_t> tokens{1, 2, 3};
  Rng rng;
  std::vector<float> logits;
};

std::vector<Row> make_rows(int n) {
  std::vector<Row> rows(static_cast<size_t>(n));
  std::mt19937 gen(5);
  std::normal_distribution<float> d(0.0f, 2.0f);
  for (int i = 0; i < n; ++i) {
    Row& r = rows[static_cast<size_t>(i)];
    r.params.temperature = i % 5 == 0 ? 0.0f : 0.7f + 0.1f * static_cast<float>(i % 4);
    if (i % 3 == 1) r.params.top_p = 0.9f;
    if (i % 7 == 2) r.params.top_k = 20;
    if (i % 6 == 3) r.params.logprobs = 3;
    if (i % 8 == 5) r.params.repetition_penalty = 1.2f;
    r.rng.reseed(1000 + static_cast<uint64_t>(i));
    r.logits.resize(kVocab);
    for (float& x : r.logits) x = d(gen);
  }
  return rows;
}

SampleContext context_of(Row& r) {
  SampleContext c;
  c.params = &r.params;
  c.tokens = r.tokens.data();
  c.num_tokens = static_cast<int>(r.tokens.size());
  c.num_prompt_tokens = 1;
  c.rng = &r.rng;
  return c;
}

// Three steps of `rows` through `sample`, each token appended to its row; returns all tokens
// and logprobs in order.
template <class SampleStep>
std::pair<std::vector<int32_t>, std::vector<float>> three_steps(std::vector<Row> rows, SampleStep sample) {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  for (int step = 0; step < 3; ++step) {
    std::vector<SamplingPool::Job> jobs(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      jobs[i].logits = rows[i].logits.data();
      jobs[i].ctx = context_of(rows[i]);
    }
    sample(jobs);
    for (size_t i = 0; i < rows.size(); ++i) {
      tokens.push_back(jobs[i].token);
      if (rows[i].params.logprobs >= 0) logprobs.push_back(jobs[i].logprob.logprob);
      rows[i].tokens.push_back(jobs[i].token);
    }
  }
  return {tokens, logprobs};
}
}  // namespace

TEST(parallel_rows_give_the_tokens_of_one_sampler_in_order) {
  const auto rows = make_rows(37);
  Sampler one(kVocab);
  const auto want = three_steps(rows, [&](std::vector<SamplingPool::Job>& jobs) {
    for (auto& j : jobs) j.token = one.sample(j.logits, j.ctx, &j.logprob);
  });
  for (int threads : {1, 3, 6}) {
    SamplingPool pool(kVocab, threads, 0);
    EXPECT_EQ(pool.threads(), threads);
    const auto got = three_steps(rows, [&](std::vector<SamplingPool::Job>& jobs) { pool.run(jobs); });
    EXPECT_EQ(got.first, want.first);
    EXPECT_EQ(got.second, want.second);
  }
}

TEST(small_steps_stay_on_the_calling_thread_and_odd_sizes_work) {
  SamplingPool pool(kVocab, 3, size_t{1} << 30);  // never worth splitting
  const auto rows = make_rows(5);
  Sampler one(kVocab);
  const auto want = three_steps(rows, [&](std::vector<SamplingPool::Job>& jobs) {
    for (auto& j : jobs) j.token = one.sample(j.logits, j.ctx, &j.logprob);
  });
  EXPECT_EQ(three_steps(rows, [&](std::vector<SamplingPool::Job>& jobs) { pool.run(jobs); }).first, want.first);
  SamplingPool split(kVocab, 4, 0);
  for (int n : {0, 1, 2, 5}) {  // fewer rows than threads, and none
    const auto r = make_rows(n);
    Sampler s(kVocab);
    const auto w = three_steps(r, [&](std::vector<SamplingPool::Job>& jobs) {
      for (auto& j : jobs) j.token = s.sample(j.logits, j.ctx, &j.logprob);
    });
    EXPECT_EQ(three_steps(r, [&](std::vector<SamplingPool::Job>& jobs) { split.run(jobs); }).first, w.first);
  }
}
