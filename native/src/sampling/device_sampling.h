// Sampling a backend can do next to the logits (the CUDA backend does it on the GPU), so a step
// sends back one token per sequence instead of a vocabulary-sized row of floats:
//   - Argmax: greedy, nothing that reads the distribution (the sampler's argmax_index rule);
//   - Draw: one draw from softmax(logits / temperature) truncated by top_k, then top_p, then
//     min_p, by the Gumbel-max trick (argmax of logits / temperature + Gumbel noise keyed by the
//     step's random key and the token id over the tokens kept), so it needs no sort.
// top_k and top_p keep a best prefix of the tokens ordered by logit (then lower index). Its last
// token is found by a search over that order whose counts and masses are summed in a fixed order
// (the GPU block's: kDrawThreads strided partial sums, then a butterfly), so the reference here
// and the kernel keep the same tokens (up to expf's last bit on a boundary).
// Either kind first edits the row as the Sampler does for penalties, bias and an active
// min_tokens mask (RowEdit: a few tokens each), and may also score the raw row for logprobs
// (RowLogprobs: the raw log-softmax of the sampled token and of the best tokens), as the host
// Sampler's token_logprob does. Only an output format (json_object, json_schema, choice) keeps a
// row with the host Sampler. A Draw does not follow the host sampler's random stream: the same
// seed gives other (equally distributed) tokens on the CPU and on the GPU, each reproducible.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "llm/engine.h"
#include "sampling/rng.h"
#include "sampling/sampler.h"

#if defined(__CUDACC__)
#define LLM_HOST_DEVICE __host__ __device__
#else
#define LLM_HOST_DEVICE
#endif

namespace llm {

struct RowSampling {
  enum Kind : int32_t { Host = 0, Argmax = 1, Draw = 2 };
  int32_t kind = Host;
  float temperature = 0.0f;  // Draw
  float min_p = 0.0f;        // Draw: tokens below min_p x the top probability are out
  uint32_t key_lo = 0, key_hi = 0;  // Draw: this step's random key (one draw of the sequence's Rng)
  int32_t top_k = 0;         // Draw: > 0 keeps the top_k best tokens
  float top_p = 1.0f;        // Draw: < 1 keeps the fewest best tokens holding top_p of the mass
  int32_t logprobs = -1;     // Argmax or Draw: >= 0 scores the row (RowLogprobs) with that many best tokens
  int32_t edits_begin = 0;   // Argmax or Draw: the row's RowEdits are ForwardBatch::row_edits
  int32_t edits_count = 0;   // [edits_begin, edits_begin + edits_count)

  uint64_t key() const { return (static_cast<uint64_t>(key_hi) << 32) | key_lo; }
  // The backend turns this row into its token (and, when scored(), its RowLogprobs).
  bool sampled() const { return kind != Host; }
  bool scored() const { return sampled() && logprobs >= 0; }
};

// One token's change to a row before it is sampled, as the host Sampler applies penalties, bias
// and the min_tokens mask (apply_penalties_and_masks): the repetition penalty (1: none), minus
// the frequency and presence penalties, plus the bias, then -inf when masked. Each with its
// neutral value leaves a logit as it is, so one record per distinct token gives the Sampler's
// processed logits bit for bit. row_edits.h plans them.
struct RowEdit {
  int32_t token = 0;
  float repetition = 1.0f;
  float penalty = 0.0f;  // frequency_penalty x count + presence_penalty
  float bias = 0.0f;
  int32_t masked = 0;
  float raw = 0.0f;  // the CUDA kernel keeps the unedited logit here while the row is edited
};

// One rounding per operation on the device too (nvcc would fuse a multiply and an add).
LLM_HOST_DEVICE inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
LLM_HOST_DEVICE inline float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
LLM_HOST_DEVICE inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

LLM_HOST_DEVICE inline float edited_logit(float x, const RowEdit& e) {
  if (e.masked) return -INFINITY;
  x = x > 0 ? div_rn(x, e.repetition) : mul_rn(x, e.repetition);
  return add_rn(add_rn(x, -e.penalty), e.bias);
}

// The host reference of a row's edits (the fake backend in tests uses it).
inline void apply_row_edits(float* row, const RowEdit* edits, int count) {
  for (int j = 0; j < count; ++j) row[edits[j].token] = edited_logit(row[edits[j].token], edits[j]);
}

// A row's logprobs as a backend computes them next to the logits: the raw log-softmax score of
// the sampled token, and of the `count` best tokens (higher logit, then lower index; NaN never
// listed), best first. Fixed size, so a step's rows are one flat array.
struct RowLogprobs {
  float logprob = 0.0f;
  int32_t count = 0;
  int32_t top_tokens[kMaxLogprobs] = {};
  float top_logprobs[kMaxLogprobs] = {};
};

// How a sequence's next token can be sampled next to the logits (its edits, if any, are added by
// RowEditPlanner: row_edits.h); draws one key from `rng` only for a Draw.
RowSampling plan_row_sampling(const SamplingParams& params, int vocab_size, Rng& rng);

// u in (0, 1), never 0 or 1, from the top 23 bits of `bits`: (k + 1/2) / 2^23 is exact in float
// for every k < 2^23 (with 24 bits, k + 1/2 would round up to 2^24 and give u = 1).
LLM_HOST_DEVICE inline float open_unit_float(uint64_t bits) {
  return (static_cast<float>(bits >> 41) + 0.5f) * 0x1.0p-23f;
}

// Gumbel(0, 1) noise for token `index` under `key`: -log(-log(u)), u from a splitmix64 hash.
// Host and device share this code, so they agree up to logf's last bit.
LLM_HOST_DEVICE inline float gumbel_noise(uint64_t key, int32_t index) {
  uint64_t z = key + (static_cast<uint64_t>(index) + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return -logf(-logf(open_unit_float(z)));
}

// The log of the min_p cut on (logit - max) / temperature; -inf when min_p is 0.
LLM_HOST_DEVICE inline float min_p_cut(float min_p) { return min_p > 0.0f ? logf(min_p) : -INFINITY; }

// ---- the truncation order of a Draw (shared by the reference and the kernel) ----------------
// Threads of the kernel's block; the reference sums in their order.
constexpr int kDrawThreads = 1024;

// Monotone in x as an unsigned integer (for non-NaN x).
LLM_HOST_DEVICE inline uint32_t order_key(float x) {
#if defined(__CUDA_ARCH__)
  const uint32_t u = __float_as_uint(x);
#else
  uint32_t u;
  memcpy(&u, &x, 4);
#endif
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// A token's place in the truncation order: larger is better (higher logit, then lower index).
LLM_HOST_DEVICE inline uint64_t draw_rank(float x, int32_t i) {
  return (static_cast<uint64_t>(order_key(x)) << 32) | (0xffffffffu - static_cast<uint32_t>(i));
}

// The unnormalised probability of a token: exp((x - max) / T), from the z the Gumbel pass scores.
LLM_HOST_DEVICE inline float draw_weight(float x, float max, float inv_t) {
  return expf((x - max) * inv_t);
}

// What a token adds to a measure of the tokens ranked high enough: its weight (mass) or 1
// (count) when it is drawable (not -inf or NaN), else 0. Adding 0 leaves a non-negative float sum
// unchanged, so skipping it or adding it gives the same sum.
LLM_HOST_DEVICE inline float draw_term(float x, bool mass, float max, float inv_t) {
  if (!(x > -INFINITY)) return 0.0f;
  return mass ? draw_weight(x, max, inv_t) : 1.0f;
}

// draw_term in a measure of the tokens ranked at least `lo` (0 below it).
LLM_HOST_DEVICE inline float draw_measure_term(float x, int32_t i, uint64_t lo, bool mass, float max, float inv_t) {
  return draw_rank(x, i) < lo ? 0.0f : draw_term(x, mass, max, inv_t);
}

// The most probes one round of largest_holding may ask about.
constexpr int kMaxProbes = 15;

// The largest v in [lo, hi] with holds(v), given holds(lo) and that holds is monotone (true up
// to some v, false above). Each round asks holds_many(vs, n, ok) about n <= `probes` values at
// once (ok[j] = holds(vs[j]); vs increasing), spread evenly over (lo, hi], and keeps the part
// between the last that holds and the next: with 1 probe a binary search, with 15 four bits a
// round. The answer is the same for every number of probes (holds decides it), so a kernel that
// measures 15 thresholds a pass agrees with a host reference that measures one.
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class HoldsMany>
LLM_HOST_DEVICE uint64_t largest_holding(uint64_t lo, uint64_t hi, int probes, const HoldsMany& holds_many) {
  uint64_t vs[kMaxProbes];
  bool ok[kMaxProbes];
  while (lo < hi) {
    // Probe j of n: lo + ceil(span * j / (n + 1)), written as q j + ceil(r j / (n + 1)) so that no
    // product overflows; with n <= span the probes rise strictly from lo + 1 to at most hi.
    const uint64_t span = hi - lo;
    const int n = span < static_cast<uint64_t>(probes) ? static_cast<int>(span) : probes;
    const uint64_t parts = static_cast<uint64_t>(n) + 1, q = span / parts, r = span % parts;
    for (int j = 0; j < n; ++j) {
      const uint64_t k = static_cast<uint64_t>(j) + 1;
      vs[j] = lo + q * k + (r * k + parts - 1) / parts;
    }
    holds_many(vs, n, ok);
    int last = -1;  // the probes that hold come first (holds is monotone)
    for (int j = 0; j < n; ++j)
      if (ok[j]) last = j;
    if (last >= 0) lo = vs[last];
    if (last + 1 < n) hi = vs[last + 1] - 1;
  }
  return lo;
}

// One measure (see draw_search) of one threshold.
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class Measure>
LLM_HOST_DEVICE float measure_one(const Measure& measure, uint64_t t, uint64_t floor, bool mass) {
  float out;
  measure.many(&t, 1, floor, mass, &out);
  return out;
}

// The lowest rank a Draw keeps under top_k, then top_p (0: no cut), given a measure:
// `measure.many(ts, n, floor, mass, out)` sets out[j] to the count (mass: the sum of draw_weight)
// of the drawable tokens ranked at least max(ts[j], floor), each summed in the CUDA block's
// order, for n <= measure.probes thresholds. The host reference and the kernel both run this,
// each with its own measure (one probe a pass on the host, kMaxProbes on the GPU). Each search
// finds the largest rank t whose set {rank >= t} still measures at least the target: over the
// logit's key first, then over the index among the tokens sharing that key (skipped when it has
// one token: the set is the same).
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class Measure>
LLM_HOST_DEVICE uint64_t draw_search(const Measure& measure, float target, uint64_t floor, bool mass) {
  uint64_t ts[kMaxProbes];
  float got[kMaxProbes];
  // A probe v stands for the rank high | (v << shift): a logit key first (high 0, shift 32), then
  // an index part under the key found (high key << 32, shift 0).
  uint64_t high = 0;
  int shift = 32;
  const auto holds = [&](const uint64_t* vs, int n, bool* ok) {
    for (int j = 0; j < n; ++j) ts[j] = high | (vs[j] << shift);
    measure.many(ts, n, floor, mass, got);
    for (int j = 0; j < n; ++j) ok[j] = got[j] >= target;
  };
  const uint64_t key = largest_holding(floor >> 32, 0xffffffffull, measure.probes, holds);
  ts[0] = key << 32;
  ts[1] = key == 0xffffffffull ? ~0ull : (key + 1) << 32;
  measure.many(ts, key == 0xffffffffull ? 1 : 2, floor, false, got);
  const float here = got[0], above = key == 0xffffffffull ? 0.0f : got[1];
  if (here - above <= 1.0f) return floor > (key << 32) ? floor : key << 32;
  high = key << 32;
  shift = 0;
  const uint64_t low = key == (floor >> 32) ? (floor & 0xffffffffull) : 0;
  return high | largest_holding(low, 0xffffffffull, measure.probes, holds);
}

#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class Measure>
LLM_HOST_DEVICE uint64_t draw_floor_with(const Measure& measure, int32_t top_k, float top_p) {
  uint64_t floor = 0;
  if (top_k > 0 && measure_one(measure, 0, 0, false) > static_cast<float>(top_k))
    floor = draw_search(measure, static_cast<float>(top_k), 0, false);
  if (top_p < 1.0f) floor = draw_search(measure, top_p * measure_one(measure, floor, floor, true), floor, true);
  return floor;
}

// The host reference of a Draw over one row (the fake backend in tests uses it; the CUDA kernel
// computes the same). Rows whose maximum is not finite fall back to argmax_index, as the
// Sampler does.
int32_t gumbel_draw(const float* logits, int n, float temperature, float min_p, uint64_t key, int32_t top_k = 0,
                    float top_p = 1.0f);
inline int32_t gumbel_draw(const float* logits, int n, const RowSampling& spec) {
  return gumbel_draw(logits, n, spec.temperature, spec.min_p, spec.key(), spec.top_k, spec.top_p);
}

// The lowest rank a Draw keeps under top_k and top_p (0: no cut), from the row's maximum `max`,
// searching with `probes` thresholds a pass over the row (1: the reference's; 15: the kernel's);
// *passes counts the passes when given.
uint64_t draw_floor(const float* logits, int n, float max, float inv_t, int32_t top_k, float top_p, int probes = 1,
                    int* passes = nullptr);

// The host reference of a row's RowLogprobs for `token` with the k best tokens: the log-sum-exp
// around the row's largest non-NaN value, its exp terms summed in the CUDA block's order, so the
// kernel's scores match up to expf's last bit (token_logprob sums in double: ~1e-7 apart).
void row_logprobs(const float* logits, int n, int32_t token, int k, RowLogprobs* out);

// The engine's TokenLogprob of a RowLogprobs for `token`.
void to_token_logprob(const RowLogprobs& row, int32_t token, TokenLogprob* out);

}  // namespace llm
