// One block per logits row: the row's edits (penalties, bias, masks) are applied in place; pass 1
// finds the argmax (and the row's maximum) under the host sampler's rule; a Draw row with top_k /
// top_p then finds the lowest rank it keeps (searches over counts and masses of 15 thresholds a
// pass, each summed in the reference's order: the reference's binary searches reach the same
// ranks), and takes the Gumbel-max over
// logits / temperature of the tokens kept; a row asking for logprobs is then scored on its raw
// logits (two more passes: the exp sum, and each thread's best tokens; a third for the raw
// maximum when the row was edited). The argmax and Gumbel reductions use total orders, so
// their result does not depend on the reduction order.
#include "backend/cuda/sample_rows.h"

#include <cuda_runtime.h>

namespace llm {
namespace cuda {

namespace {

constexpr int kThreads = kDrawThreads;  // the reference sums in this block's order
constexpr int kWarps = kThreads / 32;

// Argmax order: a non-NaN value beats NaN; larger beats smaller; on a tie the lower index wins;
// among NaNs the higher index wins (an all-NaN row gives its last index, as argmax_index does).
struct ArgmaxOrder {
  __device__ static bool better(float av, int ai, float bv, int bi) {
    const bool an = isnan(av), bn = isnan(bv);
    if (an != bn) return bn;
    if (an) return ai > bi;
    return av > bv || (av == bv && ai < bi);
  }
};

// Draw and logprobs order: an entry (index >= 0) beats none; the higher score wins; on a tie the
// lower index.
struct EntryOrder {
  __device__ static bool better(float av, int ai, float bv, int bi) {
    if ((ai >= 0) != (bi >= 0)) return ai >= 0;
    return av > bv || (av == bv && ai < bi);
  }
};

// Reduces (v, i) over the warp; every lane gets the winner.
template <class Order>
__device__ void warp_best(float& v, int& i) {
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, i, o);
    if (Order::better(ov, oi, v, i)) {
      v = ov;
      i = oi;
    }
  }
}

// Reduces (v, i) over the block; every thread gets the winner.
template <class Order>
__device__ void block_best(float& v, int& i, float* sv, int* si) {
  warp_best<Order>(v, i);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    sv[warp] = v;
    si[warp] = i;
  }
  __syncthreads();
  v = sv[lane];
  i = si[lane];
  warp_best<Order>(v, i);
  __syncthreads();  // sv/si may be reused by the next reduction
}

// The sums of every thread's v[j], j < n, each in the reference's order (device_sampling.cpp,
// block_order_sum): a butterfly within each warp, then one over the warp sums. sv holds n x 32
// floats. Every thread gets the results in v.
__device__ void block_sums(float* v, int n, float* sv) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int j = 0; j < n; ++j) {
    for (int o = 16; o > 0; o >>= 1) v[j] += __shfl_xor_sync(0xffffffffu, v[j], o);
    if (lane == 0) sv[j * 32 + warp] = v[j];
  }
  __syncthreads();
  for (int j = 0; j < n; ++j) {
    v[j] = sv[j * 32 + lane];
    for (int o = 16; o > 0; o >>= 1) v[j] += __shfl_xor_sync(0xffffffffu, v[j], o);
  }
  __syncthreads();  // sv may be reused by the next reduction
}

// Counts (or masses) of the drawable tokens of row x ranked at least max(ts[j], floor), for up to
// kMaxProbes thresholds in one pass over the row, each summed in the reference's order:
// draw_floor_with() runs on it as device_sampling.cpp's draw_floor does on its own measure.
struct RowMeasure {
  const float* x;
  int n;
  float max, inv_t;
  float* sv;  // kMaxProbes x 32 floats of shared memory
  int probes = kMaxProbes;

  __device__ void many(const uint64_t* ts, int count, uint64_t floor, bool mass, float* out) const {
    uint64_t lo[kMaxProbes];
    for (int j = 0; j < count; ++j) {
      lo[j] = ts[j] > floor ? ts[j] : floor;
      out[j] = 0.0f;
    }
    for (int i = threadIdx.x; i < n; i += kThreads) {
      const float term = llm::draw_term(x[i], mass, max, inv_t);  // once for all thresholds
      if (term == 0.0f) continue;  // adds nothing to any of them
      const uint64_t rank = llm::draw_rank(x[i], i);
      for (int j = 0; j < count; ++j)
        if (rank >= lo[j]) out[j] += term;
    }
    block_sums(out, count, sv);
  }
};

// The Draw of one row whose maximum `mv` is finite (every thread gets the token).
__device__ int draw_token(const float* x, int vocab, const RowSampling& spec, float mv, float* sv, int* si) {
  __shared__ float probe_sums[kMaxProbes * 32];
  // Explicit roundings (no FMA contraction), as the host reference computes them.
  const uint64_t key = (static_cast<uint64_t>(spec.key_hi) << 32) | spec.key_lo;
  const float inv_t = __frcp_rn(spec.temperature), cut = min_p_cut(spec.min_p);
  // Uniform across the block: every thread computes the same lowest kept rank.
  const uint64_t kept_from = spec.top_k > 0 || spec.top_p < 1.0f
                                 ? llm::draw_floor_with(RowMeasure{x, vocab, mv, inv_t, probe_sums}, spec.top_k,
                                                        spec.top_p)
                                 : 0;
  float best = 0.0f;
  int bi = -1;
  for (int i = threadIdx.x; i < vocab; i += kThreads) {
    const float xi = x[i];
    if (!(xi > -INFINITY)) continue;  // -inf and NaN are never drawn
    const float z = __fmul_rn(__fsub_rn(xi, mv), inv_t);
    if (z < cut || llm::draw_rank(xi, i) < kept_from) continue;
    const float score = __fadd_rn(z, gumbel_noise(key, i));
    if (bi < 0 || score > best) {  // i grows, so a tie keeps the lower index
      best = score;
      bi = i;
    }
  }
  block_best<EntryOrder>(best, bi, sv, si);
  return bi;
}

// RowLogprobs of one row (row_logprobs() in device_sampling.cpp is the reference): the exp terms
// around the row's maximum `mv` summed in the reference's order; the k best tokens from each
// thread's own sorted list of its k best, merged by k block reductions.
__device__ void score_row(const float* x, int vocab, int token, int k, float mv, RowLogprobs* out, float* sv,
                          int* si) {
  float acc = 0.0f;
  for (int i = threadIdx.x; i < vocab; i += kThreads)
    if (!isnan(x[i])) acc += expf(__fsub_rn(x[i], mv));  // NaN has no probability
  block_sums(&acc, 1, sv);
  const float lse = __fadd_rn(mv, logf(acc));
  k = k < kMaxLogprobs ? k : kMaxLogprobs;
  float tv[kMaxLogprobs];
  int ti[kMaxLogprobs];
  int held = 0;
  for (int i = threadIdx.x; i < vocab; i += kThreads) {
    const float xi = x[i];
    if (isnan(xi) || (held == k && !(xi > tv[k - 1]))) continue;  // i grows: a tie keeps the lower index
    int j = held < k ? held++ : k - 1;
    for (; j > 0 && xi > tv[j - 1]; --j) {
      tv[j] = tv[j - 1];
      ti[j] = ti[j - 1];
    }
    tv[j] = xi;
    ti[j] = i;
  }
  int head = 0, count = 0;
  for (; count < k; ++count) {
    float v = head < held ? tv[head] : 0.0f;
    int i = head < held ? ti[head] : -1;
    block_best<EntryOrder>(v, i, sv, si);
    if (i < 0) break;  // uniform: fewer than k non-NaN tokens
    if (head < held && ti[head] == i) ++head;
    if (threadIdx.x == 0) {
      out->top_tokens[count] = i;
      out->top_logprobs[count] = __fsub_rn(v, lse);
    }
  }
  if (threadIdx.x == 0) {
    out->logprob = __fsub_rn(x[token], lse);
    out->count = count;
  }
}

// The row's argmax under the sampler's rule; every thread gets it and the row's maximum *mv.
__device__ int row_argmax(const float* x, int vocab, float* mv_out, float* sv, int* si) {
  float mv = __int_as_float(0x7fc00000);  // NaN with index -1 loses to every element
  int mi = -1;
  for (int i = threadIdx.x; i < vocab; i += kThreads)
    if (ArgmaxOrder::better(x[i], i, mv, mi)) {
      mv = x[i];
      mi = i;
    }
  block_best<ArgmaxOrder>(mv, mi, sv, si);
  *mv_out = mv;
  return mi;
}

// Edits row x in place (penalties, bias, masks: edited_logit), keeping each raw logit in its
// record; with `restore`, puts the raw logits back. The tokens of a row's edits are distinct.
__device__ void edit_row(float* x, RowEdit* edits, int count, bool restore) {
  for (int j = threadIdx.x; j < count; j += kThreads) {
    RowEdit& e = edits[j];
    if (restore) {
      x[e.token] = e.raw;
    } else {
      e.raw = x[e.token];
      x[e.token] = edited_logit(e.raw, e);
    }
  }
  __syncthreads();  // the whole row is (un)edited before any thread reads it
}

__global__ void __launch_bounds__(kThreads)
sample_rows_kernel(float* __restrict__ logits, const RowSampling* __restrict__ specs, RowEdit* __restrict__ edits,
                   int32_t* __restrict__ out, RowLogprobs* __restrict__ logprobs, int vocab) {
  __shared__ float sv[kWarps];
  __shared__ int si[kWarps];
  const int row = blockIdx.x;
  const RowSampling spec = specs[row];
  if (spec.kind == RowSampling::Host) return;  // uniform across the block
  float* x = logits + static_cast<size_t>(row) * vocab;
  RowEdit* row_edits = edits + spec.edits_begin;
  if (spec.edits_count > 0) edit_row(x, row_edits, spec.edits_count, false);

  float mv;
  const int mi = row_argmax(x, vocab, &mv, sv, si);
  // Uniform: every thread has the winner, and then the drawn token.
  const int token = spec.kind == RowSampling::Argmax || !isfinite(mv) ? mi : draw_token(x, vocab, spec, mv, sv, si);
  if (threadIdx.x == 0) out[row] = token;
  if (spec.logprobs < 0) return;
  if (spec.edits_count > 0) {  // logprobs score the raw row, around its own maximum
    edit_row(x, row_edits, spec.edits_count, true);
    row_argmax(x, vocab, &mv, sv, si);
  }
  score_row(x, vocab, token, spec.logprobs, mv, logprobs + row, sv, si);
}

}  // namespace

void sample_rows(float* logits, const RowSampling* specs, RowEdit* edits, int32_t* out, RowLogprobs* logprobs,
                 int num_rows, int vocab, cudaStream_t stream) {
  if (num_rows <= 0) return;
  sample_rows_kernel<<<num_rows, kThreads, 0, stream>>>(logits, specs, edits, out, logprobs, vocab);
  check_last("sample_rows");
}

}  // namespace cuda
}  // namespace llm
