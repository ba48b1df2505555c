// Helpers shared by the CPU backend tests: random activations and weights, random prompts, and
// one sequence's prefill run in chunks over a shuffled paged layout.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "cpu_reference.h"

namespace cputest {

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<int32_t> prompt(int n, uint64_t seed, int vocab) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % vocab);
  return t;
}

// Runs `tokens` of one sequence through the backend in chunks of `chunk`, collecting the logits
// of every position.
inline std::vector<float> run_chunked(llm::Backend& be, int vocab, const std::vector<int32_t>& tokens, int chunk,
                                      uint64_t seed) {
  ref::PagedSeqs ps(64, 16, 1, seed);
  std::vector<float> all;
  for (size_t s = 0; s < tokens.size(); s += chunk) {
    std::vector<int32_t> part(tokens.begin() + s, tokens.begin() + std::min(tokens.size(), s + chunk));
    llm::ForwardBatch b = ps.step({{0, part, true}});
    std::vector<float> lg(b.logits_indices.size() * vocab);
    be.forward(b, lg.data());
    all.insert(all.end(), lg.begin(), lg.end());
  }
  return all;
}

// How far backend logits are from float64 ones ([positions][vocab] each): the largest error as a
// multiple of that position's logit standard deviation, the positions with the same top token.
struct LogitError {
  double worst = 0;
  int same_top = 0;
};
template <typename Got>
LogitError logit_error(const std::vector<double>& want, const Got& got, int vocab) {
  LogitError e;
  const size_t positions = want.size() / vocab;
  for (size_t pos = 0; pos < positions; ++pos) {
    const double* r = want.data() + pos * vocab;
    double mean = 0, var = 0, err = 0;
    for (int v = 0; v < vocab; ++v) mean += r[v] / vocab;
    for (int v = 0; v < vocab; ++v) var += (r[v] - mean) * (r[v] - mean) / vocab;
    for (int v = 0; v < vocab; ++v) err = std::max(err, std::fabs(got[pos * vocab + v] - r[v]));
    e.worst = std::max(e.worst, err / std::sqrt(var));
    const auto top = [&](auto first) { return std::max_element(first, first + vocab) - first; };
    e.same_top += top(got.begin() + pos * vocab) == top(r);
  }
  return e;
}

}  // namespace cputest
