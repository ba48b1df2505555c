#include "sampling/device_sampling.h"

#include <cmath>

#include "sampling/sampler.h"

namespace llm {

RowSampling plan_row_sampling(const SamplingParams& p, int num_output_tokens, int vocab_size, Rng& rng) {
  RowSampling r;
  if (!reads_only_logits(p, num_output_tokens)) return r;
  if (p.temperature < kGreedyTemperature) {
    r.kind = RowSampling::Argmax;
    return r;
  }
  if (p.top_p < 1.0f || (p.top_k > 0 && p.top_k < vocab_size)) return r;  // needs the sorted head
  const uint64_t key = rng.next();
  r.kind = RowSampling::Draw;
  r.temperature = p.temperature;
  r.min_p = p.min_p;
  r.key_lo = static_cast<uint32_t>(key);
  r.key_hi = static_cast<uint32_t>(key >> 32);
  return r;
}

int32_t gumbel_draw(const float* x, int n, float temperature, float min_p, uint64_t key) {
  float mx = -INFINITY;
  for (int i = 0; i < n; ++i)
    if (x[i] > mx) mx = x[i];  // NaN never compares greater
  if (!std::isfinite(mx)) return argmax_index(x, n);
  const float inv_t = 1.0f / temperature, cut = min_p_cut(min_p);
  int32_t best = -1;
  float best_score = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (!(x[i] > -INFINITY)) continue;  // -inf and NaN are never drawn
    const float z = (x[i] - mx) * inv_t;
    if (z < cut) continue;
    const float score = z + gumbel_noise(key, i);
    if (best < 0 || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

}  // namespace llm
