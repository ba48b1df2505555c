// Sampling next to the logits (sampling/device_sampling.h): which rows a backend may sample, and
// the host reference of the Gumbel-max draw the CUDA kernel computes (distribution, top_k, top_p,
// min_p, -inf/NaN, fallbacks, keys), and of a row's logprobs against the Sampler's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <random>

#include "llm/error.h"
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
  auto plan = [&](const SamplingParams& p, Rng& rng) { return plan_row_sampling(p, vocab, rng); };
  Rng rng(5), untouched(5);
  EXPECT_EQ(plan(temperature(0.0f), rng).kind, int32_t{RowSampling::Argmax});
  EXPECT_EQ(rng.next(), untouched.next());  // argmax consumed nothing

  Rng a(6), b(6);
  SamplingParams p = temperature(0.7f);
  p.min_p = 0.1f;
  const RowSampling d = plan(p, a);
  EXPECT_EQ(d.kind, int32_t{RowSampling::Draw});
  EXPECT_EQ(d.key(), b.next());
  EXPECT_EQ(d.temperature, 0.7f);
  EXPECT_EQ(d.min_p, 0.1f);
  p.top_k = vocab;  // a top_k that cuts nothing is a draw without a top_k
  const RowSampling no_cut = plan(p, a);
  EXPECT_EQ(no_cut.kind, int32_t{RowSampling::Draw});
  EXPECT_EQ(no_cut.top_k, 0);
  p.top_k = 5;  // top_k and top_p are drawn next to the logits too
  p.top_p = 0.9f;
  const RowSampling cut = plan(p, a);
  EXPECT_EQ(cut.kind, int32_t{RowSampling::Draw});
  EXPECT_EQ(cut.top_k, 5);
  EXPECT_EQ(cut.top_p, 0.9f);
  EXPECT_EQ(cut.logprobs, -1);
  EXPECT_EQ(cut.edits_count, 0);  // edits come from RowEditPlanner
  p.logprobs = 5;  // logprobs are scores of the raw row: still sampled next to the logits
  EXPECT_EQ(plan(p, a).logprobs, 5);
  SamplingParams greedy_scored = temperature(0.0f);
  greedy_scored.logprobs = 0;
  const RowSampling scored = plan(greedy_scored, a);
  EXPECT_EQ(scored.kind, int32_t{RowSampling::Argmax});
  EXPECT_EQ(scored.logprobs, 0);

  // Penalties, bias and min_tokens are edits of the row: still next to the logits.
  const std::vector<std::function<void(SamplingParams&)>> edited = {
      [](SamplingParams& q) { q.repetition_penalty = 1.1f; },
      [](SamplingParams& q) { q.frequency_penalty = 0.5f; },
      [](SamplingParams& q) { q.logit_bias = {{1, 1.0f}}; },
      [](SamplingParams& q) { q.min_tokens = 4; },
  };
  for (const auto& set : edited) {
    SamplingParams q = temperature(0.0f);
    set(q);
    EXPECT_EQ(plan(q, a).kind, int32_t{RowSampling::Argmax});
  }
  // Only an output format (a grammar's mask) keeps the row on the host, with no key drawn.
  Rng c(7), c_copy(7);
  for (OutputFormat f : {OutputFormat::JsonObject, OutputFormat::JsonSchema, OutputFormat::Choice}) {
    SamplingParams q = temperature(0.7f);
    q.format = f;
    EXPECT_EQ(plan(q, c).kind, int32_t{RowSampling::Host});
  }
  EXPECT_EQ(c.next(), c_copy.next());
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

namespace {
// Token indices best first (higher logit, then lower index), as the truncation orders them.
std::vector<int32_t> best_first(const std::vector<float>& l) {
  std::vector<int32_t> idx(l.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  return idx;
}

// The tokens a Draw keeps: those ranked at least draw_floor's rank.
std::vector<int32_t> kept(const std::vector<float>& l, float t, int32_t top_k, float top_p) {
  const float mx = *std::max_element(l.begin(), l.end());
  const uint64_t floor = draw_floor(l.data(), static_cast<int>(l.size()), mx, 1.0f / t, top_k, top_p);
  std::vector<int32_t> out;
  for (int32_t i : best_first(l))
    if (draw_rank(l[i], i) >= floor) out.push_back(i);
  return out;
}

// The smallest best-first prefix of `order` holding top_p of softmax(l / t) over `order`, in double.
size_t nucleus_size(const std::vector<float>& l, const std::vector<int32_t>& order, float t, float top_p) {
  double total = 0, cum = 0;
  for (int32_t i : order) total += std::exp((double(l[i]) - l[order[0]]) / t);
  for (size_t k = 0; k < order.size(); ++k) {
    cum += std::exp((double(l[order[k]]) - l[order[0]]) / t);
    if (cum >= top_p * total) return k + 1;
  }
  return order.size();
}
}  // namespace

TEST(top_k_keeps_the_k_best_tokens_lower_index_first_on_ties) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.f, 2.f);
  std::vector<float> l(3000);
  for (float& v : l) v = d(rng);
  l[17] = l[2000] = l[5] = 9.0f;  // a three-way tie at the top
  for (int32_t k : {1, 2, 3, 50, 2999}) {
    const auto got = kept(l, 0.8f, k, 1.0f);
    const auto want = best_first(l);
    EXPECT_EQ(got, std::vector<int32_t>(want.begin(), want.begin() + k));
  }
  EXPECT_EQ(kept(l, 0.8f, 2, 1.0f), (std::vector<int32_t>{5, 17}));
  EXPECT_EQ(kept(l, 0.8f, 3000, 1.0f).size(), size_t{3000});  // no cut
}

TEST(top_p_keeps_the_smallest_best_prefix_holding_that_mass) {
  std::mt19937 rng(12);
  std::normal_distribution<float> d(0.f, 3.f);
  int checked = 0;
  for (int row = 0; row < 20; ++row) {
    std::vector<float> l(5000);
    for (float& v : l) v = d(rng);
    const auto order = best_first(l);
    for (float top_p : {0.3f, 0.9f, 0.99f}) {
      const float t = row % 2 ? 0.7f : 1.3f;
      EXPECT_EQ(kept(l, t, 0, top_p).size(), nucleus_size(l, order, t, top_p));
      // Under top_k the mass is the top k tokens' own.
      const std::vector<int32_t> top(order.begin(), order.begin() + 200);
      EXPECT_EQ(kept(l, t, 200, top_p).size(), nucleus_size(l, top, t, top_p));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 60);
}

TEST(truncated_draws_follow_the_renormalised_softmax) {
  const std::vector<float> l{1.0f, 0.5f, -0.5f, 0.0f, 2.0f, 0.5f};
  const int n = 60000;
  // Masses at t = 1: index 4 0.492, 0 0.181, 1 0.110, 5 0.110 (the same logit, a higher index),
  // 3 0.067, 2 0.040. top_k 3 keeps 4, 0, 1; top_p 0.75 reaches 0.783 with 4, 0, 1; top_p 0.5
  // reaches 0.673 with 4, 0; top_k 3 then top_p 0.75 of those three's mass (4: 0.63, 0: 0.23).
  struct Case {
    int32_t top_k;
    float top_p;
    std::vector<int32_t> keep;
  };
  for (const Case& c :
       {Case{3, 1.0f, {4, 0, 1}}, Case{0, 0.75f, {4, 0, 1}}, Case{0, 0.5f, {4, 0}}, Case{3, 0.75f, {4, 0}}}) {
    std::vector<double> f(l.size(), 0.0);
    Rng keys(7);
    for (int i = 0; i < n; ++i)
      f[gumbel_draw(l.data(), static_cast<int>(l.size()), 1.0f, 0.0f, keys.next(), c.top_k, c.top_p)] += 1.0 / n;
    std::vector<float> sub;
    for (int32_t i : c.keep) sub.push_back(l[i]);
    const auto p = softmax_ref(sub, 1.0f);
    double outside = 1.0;
    for (size_t j = 0; j < c.keep.size(); ++j) {
      EXPECT_NEAR(f[c.keep[j]], p[j], 4 * std::sqrt(p[j] * (1 - p[j]) / n) + 1e-3);
      outside -= f[c.keep[j]];
    }
    EXPECT_NEAR(outside, 0.0, 1e-12);
  }
}

TEST(min_p_applies_after_top_k_and_top_p) {
  // min_p is relative to the best token, which every cut keeps: it cuts the same tokens after them.
  const std::vector<float> l{3.0f, 2.9f, 0.0f, -1.0f, 2.0f};
  Rng keys(3);
  for (int i = 0; i < 2000; ++i) {
    const int32_t t = gumbel_draw(l.data(), 5, 1.0f, 0.3f, keys.next(), 4, 0.99f);
    EXPECT(t == 0 || t == 1 || t == 4);  // top_k 4 drops index 3; min_p 0.3 drops index 2 (e^-3)
  }
}

TEST(row_logprobs_score_the_raw_row_as_the_sampler_does) {
  std::mt19937 gen(21);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (int n : {7, 1000, 128256}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = d(gen);
    if (n > 100) x[50] = x[60] = 25.0f;  // a tie for the best: lower index first
    for (int k : {0, 1, 5, 20}) {
      const int32_t token = n > 100 ? 60 : 3;
      RowLogprobs row;
      row_logprobs(x.data(), n, token, k, &row);
      TokenLogprob want;
      token_logprob(x.data(), n, token, k, &want);
      TokenLogprob got;
      to_token_logprob(row, token, &got);
      EXPECT_EQ(got.token, token);
      EXPECT_NEAR(got.logprob, want.logprob, 1e-5);
      CHECK_EQ(got.top.size(), want.top.size());
      EXPECT_EQ(row.count, std::min(k, n));
      for (size_t j = 0; j < want.top.size(); ++j) {
        EXPECT_EQ(got.top[j].first, want.top[j].first);
        EXPECT_NEAR(got.top[j].second, want.top[j].second, 1e-5);
      }
      if (n > 100 && k > 1) {
        EXPECT_EQ(got.top[0].first, 50);
        EXPECT_EQ(got.top[1].first, 60);
      }
    }
  }
}

TEST(row_logprobs_give_nan_no_probability_and_never_list_it) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x{0.0f, nan, std::log(3.0f), -inf, nan};
  RowLogprobs row;
  row_logprobs(x.data(), 5, 2, 20, &row);
  EXPECT_EQ(row.count, 3);  // 2, 0, 3 (-inf is listed, NaN is not)
  EXPECT_EQ(row.top_tokens[0], 2);
  EXPECT_EQ(row.top_tokens[1], 0);
  EXPECT_EQ(row.top_tokens[2], 3);
  EXPECT_NEAR(row.logprob, std::log(0.75), 1e-6);
  EXPECT_NEAR(row.top_logprobs[1], std::log(0.25), 1e-6);
  EXPECT(std::isinf(row.top_logprobs[2]));
  TokenLogprob sampler;
  token_logprob(x.data(), 5, 2, 20, &sampler);
  EXPECT_NEAR(sampler.logprob, std::log(0.75), 1e-6);
  EXPECT_EQ(sampler.top.size(), size_t{3});
}

TEST(searches_with_one_probe_or_fifteen_find_the_same_largest_holding_value) {
  std::mt19937_64 gen(31);
  int rounds_1 = 0, rounds_15 = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const uint64_t lo = trial % 3 == 0 ? 0 : gen() % 0xffffffffull;
    const uint64_t hi = trial % 5 == 0 ? lo : trial % 2 ? 0xffffffffull : lo + gen() % 40;
    const uint64_t answer = lo + (hi == lo ? 0 : gen() % (hi - lo + 1));  // holds up to here
    auto search = [&](int probes, int& rounds) {
      return largest_holding(lo, hi, probes, [&](const uint64_t* vs, int n, bool* ok) {
        ++rounds;
        for (int j = 0; j < n; ++j) {
          if (vs[j] <= lo || vs[j] > hi || (j > 0 && vs[j] <= vs[j - 1])) throw Error("probe out of order or range");
          ok[j] = vs[j] <= answer;
        }
      });
    };
    EXPECT_EQ(search(1, rounds_1), answer);
    EXPECT_EQ(search(kMaxProbes, rounds_15), answer);
  }
  std::printf("  2000 searches: %d rounds with 1 probe, %d with 15\n", rounds_1, rounds_15);
  EXPECT(rounds_15 * 3 < rounds_1);  // ~4 bits a round instead of 1
}

TEST(the_kernels_fifteen_probe_search_keeps_the_references_tokens_in_fewer_passes) {
  const int n = 128256;  // Llama 3's vocabulary
  std::mt19937 gen(41);
  std::normal_distribution<float> d(0.0f, 3.0f);
  const struct {
    int32_t top_k;
    float top_p;
  } cuts[] = {{0, 0.9f}, {0, 0.5f}, {50, 1.0f}, {40, 0.95f}, {2, 1.0f}};
  int passes_1 = 0, passes_15 = 0;
  for (int r = 0; r < 10; ++r) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = d(gen);
    if (r % 5 == 4) x[90000] = x[7] = x[1234] = 40.0f;  // a tie across top_k 2's boundary
    const float mx = *std::max_element(x.begin(), x.end()), inv_t = 1.0f / (r < 5 ? 0.8f : 1.2f);
    const auto& c = cuts[r % 5];
    int one = 0, fifteen = 0;
    const uint64_t want = draw_floor(x.data(), n, mx, inv_t, c.top_k, c.top_p, 1, &one);
    EXPECT_EQ(draw_floor(x.data(), n, mx, inv_t, c.top_k, c.top_p, kMaxProbes, &fifteen), want);
    passes_1 += one;
    passes_15 += fifteen;
  }
  std::printf("  10 rows of %d: %d passes over the row with 1 probe, %d with 15\n", n, passes_1, passes_15);
  EXPECT(passes_15 * 2 < passes_1);
}
