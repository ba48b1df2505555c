#include "sampling/device_sampling.h"

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <vector>

#include "llm/error.h"

namespace llm {

RowSampling plan_row_sampling(const SamplingParams& p, int vocab_size, Rng& rng) {
  RowSampling r;
  if (p.format != OutputFormat::Text) return r;  // a grammar's mask needs the host
  r.logprobs = p.logprobs;
  if (p.temperature < kGreedyTemperature) {
    r.kind = RowSampling::Argmax;
    return r;
  }
  const uint64_t key = rng.next();
  r.kind = RowSampling::Draw;
  r.temperature = p.temperature;
  r.min_p = p.min_p;
  r.top_k = p.top_k > 0 && p.top_k < vocab_size ? p.top_k : 0;
  r.top_p = p.top_p;
  r.key_lo = static_cast<uint32_t>(key);
  r.key_hi = static_cast<uint32_t>(key >> 32);
  return r;
}

namespace {

// The sum of value(i) over i < n in the CUDA kernel's order: each of kDrawThreads threads adds
// its elements i = t, t + kDrawThreads, ... in turn; each warp of 32 then sums its lanes by a
// butterfly (lane l adds lane l ^ o's value, o = 16, 8, 4, 2, 1), and one more butterfly sums the
// 32 warp sums. Float addition is monotone, so dropping terms never raises the result.
float butterfly(const float* in) {
  float v[32], next[32];
  std::copy(in, in + 32, v);
  for (int o = 16; o > 0; o >>= 1) {
    for (int l = 0; l < 32; ++l) next[l] = v[l] + v[l ^ o];
    std::copy(next, next + 32, v);
  }
  return v[0];
}

template <class Value>
float block_order_sum(int n, Value value) {
  static_assert(kDrawThreads == 32 * 32, "a block of 32 warps");
  std::vector<float> partial(kDrawThreads, 0.0f);
  for (int t = 0; t < kDrawThreads; ++t)
    for (int i = t; i < n; i += kDrawThreads) value(i, partial[static_cast<size_t>(t)]);
  float warps[32];
  for (int w = 0; w < 32; ++w) warps[w] = butterfly(&partial[static_cast<size_t>(w) * 32]);
  return butterfly(warps);
}

}  // namespace

namespace {

// draw_floor_with's measure on the host: `probes` thresholds a pass (the kernel's 15, or one: a
// binary search, which reaches the same ranks with the fewest sums); counts its passes.
struct HostMeasure {
  const float* x;
  int n;
  float max, inv_t;
  int probes;
  int* passes;

  void many(const uint64_t* ts, int count, uint64_t floor, bool mass, float* out) const {
    if (passes) ++*passes;
    for (int j = 0; j < count; ++j) {
      const uint64_t lo = std::max(ts[j], floor);
      out[j] = block_order_sum(n, [&](int i, float& acc) { acc += draw_measure_term(x[i], i, lo, mass, max, inv_t); });
    }
  }
};

}  // namespace

uint64_t draw_floor(const float* x, int n, float max, float inv_t, int32_t top_k, float top_p, int probes,
                    int* passes) {
  if (probes < 1 || probes > kMaxProbes) throw Error("draw_floor: probes must be in [1, 15]");
  return draw_floor_with(HostMeasure{x, n, max, inv_t, probes, passes}, top_k, top_p);
}

int32_t gumbel_draw(const float* x, int n, float temperature, float min_p, uint64_t key, int32_t top_k,
                    float top_p) {
  float mx = -INFINITY;
  for (int i = 0; i < n; ++i)
    if (x[i] > mx) mx = x[i];  // NaN never compares greater
  if (!std::isfinite(mx)) return argmax_index(x, n);
  const float inv_t = 1.0f / temperature, cut = min_p_cut(min_p);
  const uint64_t floor = top_k > 0 || top_p < 1.0f ? draw_floor(x, n, mx, inv_t, top_k, top_p) : 0;
  int32_t best = -1;
  float best_score = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (!(x[i] > -INFINITY)) continue;  // -inf and NaN are never drawn
    const float z = (x[i] - mx) * inv_t;
    if (z < cut || draw_rank(x[i], i) < floor) continue;
    const float score = z + gumbel_noise(key, i);
    if (best < 0 || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

void row_logprobs(const float* x, int n, int32_t token, int k, RowLogprobs* out) {
  float mx = NAN;  // the argmax pass's maximum: the largest non-NaN value (NaN when there is none)
  for (int i = 0; i < n; ++i)
    if (!std::isnan(x[i]) && !(x[i] <= mx)) mx = x[i];
  // NaN logits have no probability (adding nothing leaves the sum as the kernel's).
  const float sum = block_order_sum(n, [&](int i, float& acc) {
    if (!std::isnan(x[i])) acc += expf(x[i] - mx);
  });
  const float lse = mx + logf(sum);
  out->logprob = x[token] - lse;
  // The k best non-NaN tokens: higher logit, then lower index.
  std::vector<int32_t> order;
  for (int i = 0; i < n; ++i)
    if (!std::isnan(x[i])) order.push_back(i);
  const size_t count = std::min(order.size(), static_cast<size_t>(std::clamp(k, 0, kMaxLogprobs)));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(),
                    [&](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); });
  out->count = static_cast<int32_t>(count);
  for (size_t j = 0; j < count; ++j) {
    out->top_tokens[j] = order[j];
    out->top_logprobs[j] = x[order[j]] - lse;
  }
}

void to_token_logprob(const RowLogprobs& row, int32_t token, TokenLogprob* out) {
  out->token = token;
  out->logprob = row.logprob;
  out->top.clear();
  for (int j = 0; j < row.count; ++j) out->top.emplace_back(row.top_tokens[j], row.top_logprobs[j]);
}

}  // namespace llm
