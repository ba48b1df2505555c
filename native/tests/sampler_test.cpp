// Sampler: greedy, fixed-seed distributions, top-k/top-p/min-p masks, penalties, bias, min
// tokens, logprobs, stop conditions and parameter validation.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "sample_context.h"
#include "sampling/sampler.h"
#include "softmax_ref.h"
#include "testing.h"

using namespace llm;

namespace {
using Ctx = OwnedSampleContext;

std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, Ctx& c, int n) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) f[s.sample(logits.data(), c.get(), nullptr)] += 1.0 / n;
  return f;
}
}  // namespace

TEST(greedy_picks_argmax_lowest_index_on_ties) {
  Sampler s(5);
  Ctx c;
  c.p.temperature = 0;
  std::vector<float> l{0.1f, 2.0f, -1.0f, 2.0f, 0.5f};
  EXPECT_EQ(s.sample(l.data(), c.get(), nullptr), 1);
}

TEST(temperature_sampling_matches_softmax_with_fixed_seed) {
  Sampler s(4);
  Ctx c;
  c.p.temperature = 0.7f;
  std::vector<float> l{1.0f, 0.5f, -0.5f, 0.0f};
  const int n = 40000;
  auto f = frequencies(s, l, c, n);
  auto p = softmax_ref(l, 0.7f);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i], p[i], 4 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-3);
}

TEST(same_seed_same_draws_other_seed_other_draws) {
  std::vector<float> l(50);
  for (int i = 0; i < 50; ++i) l[i] = std::sin(i * 1.7f);
  auto run = [&](uint64_t seed) {
    Sampler s(50);
    Ctx c;
    c.rng.reseed(seed);
    std::vector<int32_t> out;
    for (int i = 0; i < 30; ++i) out.push_back(s.sample(l.data(), c.get(), nullptr));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT(run(7) != run(8));
}

TEST(top_k_keeps_exactly_k_best) {
  Sampler s(6);
  Ctx c;
  c.p.top_k = 2;
  std::vector<float> l{0.0f, 3.0f, 1.0f, 2.5f, -1.0f, 0.5f};
  s.sample(l.data(), c.get(), nullptr);
  std::set<int32_t> kept;
  for (auto& [t, p] : s.candidates()) kept.insert(t);
  EXPECT_EQ(kept, (std::set<int32_t>{1, 3}));
  auto f = frequencies(s, l, c, 20000);
  EXPECT_EQ(f[0] + f[2] + f[4] + f[5], 0.0);
  const double p1 = 1 / (1 + std::exp(-0.5));
  EXPECT_NEAR(f[1], p1, 0.02);
}

TEST(top_p_keeps_the_smallest_nucleus) {
  Sampler s(4);
  Ctx c;
  c.p.top_p = 0.75f;
  // probabilities 0.5, 0.3, 0.15, 0.05 (temperature 1)
  std::vector<float> l{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  s.sample(l.data(), c.get(), nullptr);
  CHECK_EQ(s.candidates().size(), size_t{2});
  EXPECT_NEAR(s.candidates()[0].second, 0.5 / 0.8, 1e-5);
  EXPECT_NEAR(s.candidates()[1].second, 0.3 / 0.8, 1e-5);
  c.p.top_p = 0.81f;
  s.sample(l.data(), c.get(), nullptr);
  EXPECT_EQ(s.candidates().size(), size_t{3});
  auto f = frequencies(s, l, c, 20000);
  EXPECT_EQ(f[3], 0.0);
  EXPECT_NEAR(f[0], 0.5 / 0.95, 0.02);
}

TEST(min_p_drops_unlikely_tokens) {
  Sampler s(4);
  Ctx c;
  c.p.min_p = 0.2f;  // threshold 0.2 * 0.5 = 0.1: drops 0.05
  std::vector<float> l{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  s.sample(l.data(), c.get(), nullptr);
  EXPECT_EQ(s.candidates().size(), size_t{3});
}

TEST(penalties_and_bias_shape_the_logits) {
  Sampler s(6);
  Ctx c;
  c.p.temperature = 0;
  c.tokens = {1, 2, 2, 4, 4, 4};  // prompt {1}, output {2, 2, 4, 4, 4}
  c.num_prompt = 1;
  c.p.repetition_penalty = 2.0f;
  c.p.frequency_penalty = 0.5f;
  c.p.presence_penalty = 0.25f;
  c.p.logit_bias = {{5, -3.0f}, {0, 1.0f}};
  std::vector<float> l{1.0f, 2.0f, -1.0f, 0.0f, 4.0f, 1.0f};
  s.sample(l.data(), c.get(), nullptr);
  const auto& x = s.processed();
  EXPECT_NEAR(x[0], 2.0, 1e-6);                           // bias only
  EXPECT_NEAR(x[1], 1.0, 1e-6);                           // prompt token: repetition only
  EXPECT_NEAR(x[2], -2.0 - 2 * 0.5 - 0.25, 1e-6);         // negative: * penalty
  EXPECT_NEAR(x[3], 0.0, 1e-6);
  EXPECT_NEAR(x[4], 2.0 - 3 * 0.5 - 0.25, 1e-6);
  EXPECT_NEAR(x[5], -2.0, 1e-6);
}

TEST(min_tokens_masks_eos_and_stop_ids) {
  Sampler s(5);
  Ctx c;
  c.p.temperature = 0;
  c.p.min_tokens = 2;
  c.p.stop_token_ids = {4};
  std::vector<float> l{0.0f, 0.0f, 0.0f, 9.0f, 8.0f};  // eos 3 and stop 4 are the best
  EXPECT_EQ(s.sample(l.data(), c.get(), nullptr), 0);
  c.tokens = {0, 1, 1};  // two outputs generated: no mask
  EXPECT_EQ(s.sample(l.data(), c.get(), nullptr), 3);
}

TEST(logprobs_come_from_the_raw_distribution) {
  Sampler s(4);
  Ctx c;
  c.p.temperature = 0;
  c.p.logprobs = 2;
  c.p.logit_bias = {{2, 10.0f}};  // changes the choice, not the reported logprobs
  std::vector<float> l{1.0f, 2.0f, 0.0f, -1.0f};
  TokenLogprob lp;
  const int32_t t = s.sample(l.data(), c.get(), &lp);
  EXPECT_EQ(t, 2);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(0.0) + std::exp(-1.0));
  EXPECT_EQ(lp.token, 2);
  EXPECT_NEAR(lp.logprob, 0.0 - lse, 1e-5);
  CHECK_EQ(lp.top.size(), size_t{2});
  EXPECT_EQ(lp.top[0].first, 1);
  EXPECT_NEAR(lp.top[0].second, 2.0 - lse, 1e-5);
  EXPECT_EQ(lp.top[1].first, 0);
}

TEST(all_masked_falls_back_without_nan) {
  Sampler s(3);
  Ctx c;
  c.p.logit_bias = {{0, -100.0f}, {1, -100.0f}, {2, -100.0f}};
  std::vector<float> l{-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  const int32_t t = s.sample(l.data(), c.get(), nullptr);
  EXPECT(t >= 0 && t < 3);
}

TEST(stop_reasons) {
  SamplingParams p;
  p.max_tokens = 3;
  std::vector<int32_t> eos{3};
  EXPECT(stop_reason(p, 3, 1, 10, 100, eos) == FinishReason::Stop);
  EXPECT(stop_reason(p, 5, 1, 10, 100, eos) == FinishReason::None);
  EXPECT(stop_reason(p, 5, 3, 10, 100, eos) == FinishReason::Length);
  EXPECT(stop_reason(p, 5, 1, 100, 100, eos) == FinishReason::Length);
  p.ignore_eos = true;
  EXPECT(stop_reason(p, 3, 1, 10, 100, eos) == FinishReason::None);
  p.stop_token_ids = {7};
  EXPECT(stop_reason(p, 7, 1, 10, 100, eos) == FinishReason::Stop);
}

TEST(validation_messages) {
  SamplingParams p;
  p.max_tokens = -1;
  EXPECT_THROWS(validate_sampling(p, 10), "max_tokens");
  p = {};
  p.logprobs = 21;
  EXPECT_THROWS(validate_sampling(p, 10), "logprobs");
  p = {};
  p.top_p = 0;
  EXPECT_THROWS(validate_sampling(p, 10), "top_p");
  p = {};
  p.temperature = -1;
  EXPECT_THROWS(validate_sampling(p, 10), "temperature");
  p = {};
  p.logit_bias = {{10, 1.0f}};
  EXPECT_THROWS(validate_sampling(p, 10), "outside the vocabulary");
  p = {};
  p.stop_token_ids = {-1};
  EXPECT_THROWS(validate_sampling(p, 10), "stop token");
  p = {};
  validate_sampling(p, 10);
}

namespace {
// The survivors of top_k / top_p / min_p computed the plain way: softmax over the whole
// vocabulary in double, one full sort, each cut in order. The sampler must keep the same tokens
// with the same probabilities, however it gets there.
std::vector<std::pair<int32_t, double>> reference_candidates(const std::vector<float>& x, const SamplingParams& p) {
  double mx = -1e300;
  for (float v : x) mx = std::max(mx, static_cast<double>(v));
  std::vector<std::pair<int32_t, double>> c;
  for (size_t i = 0; i < x.size(); ++i) c.emplace_back(static_cast<int32_t>(i), std::exp((x[i] - mx) / p.temperature));
  std::sort(c.begin(), c.end(), [&](const auto& a, const auto& b) {
    return x[a.first] > x[b.first] || (x[a.first] == x[b.first] && a.first < b.first);
  });
  if (p.top_k > 0 && p.top_k < static_cast<int>(c.size())) c.resize(static_cast<size_t>(p.top_k));
  auto normalise = [&] {
    double t = 0;
    for (auto& e : c) t += e.second;
    for (auto& e : c) e.second /= t;
  };
  normalise();
  if (p.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      cum += c[i].second;
      if (cum >= p.top_p) {
        c.resize(i + 1);
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    const double threshold = p.min_p * c.front().second;
    c.erase(std::remove_if(c.begin(), c.end(), [&](const auto& e) { return e.second < threshold; }), c.end());
  }
  normalise();
  return c;
}
}  // namespace

TEST(cuts_on_a_llama_sized_vocabulary_match_the_plain_computation) {
  const int vocab = 128256;
  std::mt19937 gen(11);
  struct Case {
    float temperature, top_p, min_p, scale;
    int top_k;
  };
  // Peaked and flat rows (a flat one needs thousands of tokens for its nucleus).
  const std::vector<Case> cases = {{0.8f, 0.9f, 0.0f, 3.0f, 0},  {1.0f, 0.95f, 0.0f, 0.3f, 0}, {0.5f, 0.5f, 0.0f, 1.0f, 0},
                                   {1.2f, 0.9f, 0.0f, 3.0f, 40}, {0.7f, 1.0f, 0.1f, 3.0f, 0},  {1.0f, 0.8f, 0.05f, 2.0f, 0},
                                   {1.0f, 0.99f, 0.0f, 6.0f, 0},  {0.9f, 1.0f, 0.0f, 3.0f, 50}, {1.0f, 1.0f, 0.0f, 0.01f, 1000}};
  for (const Case& k : cases) {
    std::normal_distribution<float> d(0.0f, k.scale);
    std::vector<float> l(vocab);
    for (float& v : l) v = d(gen);
    l[77] = l[78] = 4.0f * k.scale;  // a tie at the top: the lower index first
    Sampler s(vocab);
    Ctx c;
    c.p.temperature = k.temperature;
    c.p.top_p = k.top_p;
    c.p.top_k = k.top_k;
    c.p.min_p = k.min_p;
    s.sample(l.data(), c.get(), nullptr);
    const auto want = reference_candidates(l, c.p);
    auto got = s.candidates();
    if (k.top_p >= 1.0f && k.top_k == 0)  // min_p alone keeps index order
      std::sort(got.begin(), got.end(), [&](const auto& a, const auto& b) {
        return l[a.first] > l[b.first] || (l[a.first] == l[b.first] && a.first < b.first);
      });
    CHECK_EQ(got.size(), want.size());
    int same = 0;
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      same += got[i].first == want[i].first;
      worst = std::max(worst, std::abs(got[i].second - want[i].second));
    }
    EXPECT_EQ(same, static_cast<int>(want.size()));
    EXPECT(worst < 1e-6);
  }
}
