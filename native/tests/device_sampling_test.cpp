// Sampling next to the logits (sampling/device_sampling.h): which rows a backend may sample, and
// the host reference of the Gumbel-max draw the CUDA kernel computes (distribution, min_p,
// -inf/NaN, fallbacks, keys).
#include <cmath>
#include <functional>
#include <limits>

#include "sampling/device_sampling.h"
#include "sampling/sampler.h"
#include "softmax_ref.h"
#include "testing.h"

using namespace llm;

namespace {
std::vector<double> draw_frequencies(const std::vector<float>& l, float t, float min_p, int n) {
  std::vector<double> f(l.size(), 0.0);
  Rng keys(99);
  for (int i = 0; i < n; ++i) f[gumbel_draw(l.data(), static_cast<int>(l.size()), t, min_p, keys.next())] += 1.0 / n;
  return f;
}

SamplingParams temperature(float t) {
  SamplingParams p;
  p.temperature = t;
  return p;
}
}  // namespace

TEST(draws_follow_softmax_of_logits_over_temperature) {
  const std::vector<float> l{1.0f, 0.5f, -0.5f, 0.0f, 2.0f};
  const int n = 60000;
  for (float t : {0.5f, 1.0f, 2.0f}) {
    const auto f = draw_frequencies(l, t, 0.0f, n);
    const auto p = softmax_ref(l, t);
    for (size_t i = 0; i < l.size(); ++i) EXPECT_NEAR(f[i], p[i], 4 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-3);
  }
}

TEST(min_p_cuts_tokens_below_the_fraction_of_the_top_probability) {
  // probabilities 0.5, 0.3, 0.15, 0.05: min_p 0.2 keeps those >= 0.1
  const std::vector<float> l{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  const int n = 40000;
  const auto f = draw_frequencies(l, 1.0f, 0.2f, n);
  EXPECT_EQ(f[3], 0.0);
  EXPECT_NEAR(f[0], 0.5 / 0.95, 0.015);
  EXPECT_NEAR(f[2], 0.15 / 0.95, 0.015);
}

TEST(minus_infinity_and_nan_are_never_drawn_and_a_row_without_finite_max_falls_back) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> l{-inf, 0.0f, nan, 0.0f, -inf};
  const auto f = draw_frequencies(l, 1.0f, 0.0f, 2000);
  EXPECT_EQ(f[0] + f[2] + f[4], 0.0);
  EXPECT(f[1] > 0.4 && f[3] > 0.4);
  const std::vector<float> all_nan(6, nan), with_inf{0.0f, inf, 1.0f};
  EXPECT_EQ(gumbel_draw(all_nan.data(), 6, 1.0f, 0.0f, 5), argmax_index(all_nan.data(), 6));
  EXPECT_EQ(gumbel_draw(with_inf.data(), 3, 1.0f, 0.0f, 5), 1);
}

TEST(a_key_gives_one_token_and_noise_is_reproducible) {
  std::vector<float> l(1000);
  for (int i = 0; i < 1000; ++i) l[i] = std::sin(i * 0.37f);
  EXPECT_EQ(gumbel_draw(l.data(), 1000, 0.9f, 0.0f, 1234), gumbel_draw(l.data(), 1000, 0.9f, 0.0f, 1234));
  int differ = 0;
  for (uint64_t k = 0; k < 20; ++k) differ += gumbel_draw(l.data(), 1000, 0.9f, 0.0f, k) != gumbel_draw(l.data(), 1000, 0.9f, 0.0f, k + 1000);
  EXPECT(differ > 10);
  EXPECT_EQ(gumbel_noise(77, 3), gumbel_noise(77, 3));
  EXPECT(gumbel_noise(77, 3) != gumbel_noise(77, 4));
}

TEST(plan_picks_argmax_draw_or_host_and_uses_the_rng_only_for_a_draw) {
  const int vocab = 100;
  auto plan = [&](const SamplingParams& p, int out, Rng& rng) { return plan_row_sampling(p, out, vocab, rng); };
  Rng rng(5), untouched(5);
  EXPECT_EQ(plan(temperature(0.0f), 0, rng).kind, int32_t{RowSampling::Argmax});
  EXPECT_EQ(rng.next(), untouched.next());  // argmax consumed nothing

  Rng a(6), b(6);
  SamplingParams p = temperature(0.7f);
  p.min_p = 0.1f;
  const RowSampling d = plan(p, 3, a);
  EXPECT_EQ(d.kind, int32_t{RowSampling::Draw});
  EXPECT_EQ(d.key(), b.next());
  EXPECT_EQ(d.temperature, 0.7f);
  EXPECT_EQ(d.min_p, 0.1f);
  p.top_k = vocab;  // a top_k that cuts nothing is still a draw
  EXPECT_EQ(plan(p, 3, a).kind, int32_t{RowSampling::Draw});

  // Each case: a temperature and the one setting that keeps the row on the host.
  const std::vector<std::pair<float, std::function<void(SamplingParams&)>>> host = {
      {0.7f, [](SamplingParams& q) { q.top_p = 0.9f; }},
      {0.7f, [](SamplingParams& q) { q.top_k = 5; }},
      {0.0f, [](SamplingParams& q) { q.logprobs = 0; }},
      {0.7f, [](SamplingParams& q) { q.repetition_penalty = 1.1f; }},
      {0.0f, [](SamplingParams& q) { q.frequency_penalty = 0.5f; }},
      {0.0f, [](SamplingParams& q) { q.logit_bias = {{1, 1.0f}}; }},
      {0.7f, [](SamplingParams& q) { q.min_tokens = 4; }},
  };
  Rng c(7), c_copy(7);
  for (const auto& [t, set] : host) {
    SamplingParams q = temperature(t);
    set(q);
    EXPECT_EQ(plan(q, 2, c).kind, int32_t{RowSampling::Host});
  }
  EXPECT_EQ(c.next(), c_copy.next());
  SamplingParams done = temperature(0.0f);
  done.min_tokens = 4;
  EXPECT_EQ(plan(done, 4, c).kind, int32_t{RowSampling::Argmax});  // min_tokens reached
}

TEST(uniforms_stay_inside_the_open_interval_so_noise_is_finite) {
  const float lo = open_unit_float(0), hi = open_unit_float(~uint64_t{0});
  EXPECT(lo > 0.0f && hi < 1.0f);
  EXPECT(std::isfinite(-std::log(-std::log(lo))) && std::isfinite(-std::log(-std::log(hi))));
  int infinite = 0;
  for (uint64_t key = 0; key < 64; ++key)
    for (int32_t i = 0; i < 16384; ++i) infinite += !std::isfinite(gumbel_noise(key * 0x9e3779b97f4a7c15ULL, i));
  EXPECT_EQ(infinite, 0);
}
