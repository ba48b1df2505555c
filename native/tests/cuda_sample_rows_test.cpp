// Sampling on the GPU (the Argmax and Draw rows of forward_step) against the host references:
// argmax_index on awkward rows (ties, NaN, -inf, all NaN), gumbel_draw on Llama-sized rows (with
// top_k / top_p / min_p cuts too), the draw's distribution, Host rows left untouched, a one-token
// vocabulary, rows' logprobs (row_logprobs and the Sampler's token_logprob), rows edited first
// (penalties, bias, masks). Skips without a GPU.
#ifndef LLM_WITH_CUDA
#include "testing.h"
TEST(cuda_sample_rows_not_built) { SKIP("engine built without CUDA (LLM_WITH_CUDA off)"); }
#else

#include <cmath>
#include <limits>

#include "backend/cuda/sample_rows.h"
#include "cuda_test_util.h"
#include "sampling/device_sampling.h"
#include "sampling/sampler.h"
#include "softmax_ref.h"

using namespace cudatest;
using llm::RowSampling;

namespace {

RowSampling argmax_spec() { return RowSampling{RowSampling::Argmax}; }
RowSampling draw_spec(float t, float min_p, uint64_t key) {
  RowSampling s{RowSampling::Draw, t, min_p};
  s.key_lo = static_cast<uint32_t>(key);
  s.key_hi = static_cast<uint32_t>(key >> 32);
  return s;
}

// Runs the kernel over `rows` (each `vocab` long, flattened) with one spec per row; the rows'
// logprobs into *logprobs when given (rows that do not ask keep the 0xff poison).
// With `edits` (the rows' RowEdits), *logits_after gets the rows as the kernel left them.
std::vector<int32_t> device_sample(const std::vector<float>& flat, const std::vector<RowSampling>& specs, int vocab,
                                   std::vector<llm::RowLogprobs>* logprobs = nullptr,
                                   const std::vector<llm::RowEdit>& edits = {},
                                   std::vector<float>* logits_after = nullptr) {
  DeviceBuf<float> d_logits(flat);
  DeviceBuf<RowSampling> d_specs(specs);
  DeviceBuf<llm::RowEdit> d_edits(edits);
  DeviceBuf<int32_t> d_out(specs.size());  // poisoned with -1
  DeviceBuf<llm::RowLogprobs> d_logprobs(specs.size());
  llm::cuda::sample_rows(d_logits.ptr, d_specs.ptr, d_edits.ptr, d_out.ptr, d_logprobs.ptr,
                         static_cast<int>(specs.size()), vocab, nullptr);
  if (logprobs) *logprobs = d_logprobs.download();
  if (logits_after) *logits_after = d_logits.download();
  return d_out.download();
}

std::vector<float> flatten(const std::vector<std::vector<float>>& rows) {
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return flat;
}

}  // namespace

TEST(cuda_argmax_follows_the_sampler_rule) {
  require_gpu();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const int vocab = 128256;  // Llama 3's vocabulary: more elements than threads
  std::mt19937 rng(3);
  std::vector<std::vector<float>> rows;
  rows.push_back(random_f32(vocab, rng));  // 0: random
  auto tie = random_f32(vocab, rng);       // 1: the maximum twice: the lower index wins
  tie[70001] = 50.f;
  tie[1025] = 50.f;
  rows.push_back(tie);
  auto with_nan = random_f32(vocab, rng);  // 2: NaNs first and around the maximum
  with_nan[0] = nan;
  with_nan[5] = 40.f;
  with_nan[6] = nan;
  rows.push_back(with_nan);
  rows.push_back(std::vector<float>(vocab, nan));   // 3: all NaN: the last index
  rows.push_back(std::vector<float>(vocab, -inf));  // 4: all -inf: index 0
  auto last = random_f32(vocab, rng);               // 5: the maximum at the very end
  last[vocab - 1] = 60.f;
  rows.push_back(last);
  const auto got = device_sample(flatten(rows), std::vector<RowSampling>(rows.size(), argmax_spec()), vocab);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int32_t want = llm::argmax_index(rows[r].data(), vocab);
    std::fprintf(stderr, "  OPCHECK argmax row %zu: device %d, host %d\n", r, got[r], want);
    EXPECT_EQ(got[r], want);
  }
  EXPECT_EQ(got[1], 1025);
  EXPECT_EQ(got[3], vocab - 1);
  EXPECT_EQ(got[4], 0);
}

TEST(cuda_draw_matches_the_host_reference_on_llama_sized_rows) {
  require_gpu();
  const int vocab = 128256, n = 64;
  std::mt19937 rng(5);
  std::vector<float> flat;
  std::vector<RowSampling> specs;
  for (int r = 0; r < n; ++r) {
    const auto row = random_f32(vocab, rng, 3.0f);
    flat.insert(flat.end(), row.begin(), row.end());
    specs.push_back(draw_spec(r % 2 ? 0.7f : 1.3f, r % 4 < 2 ? 0.0f : 0.05f, 1000003ull * (r + 1)));
  }
  const auto got = device_sample(flat, specs, vocab);
  int same = 0;
  for (int r = 0; r < n; ++r)
    same += got[r] == llm::gumbel_draw(&flat[static_cast<size_t>(r) * vocab], vocab, specs[r].temperature,
                                       specs[r].min_p, specs[r].key());
  std::fprintf(stderr, "  OPCHECK %-40s %d/%d identical\n", "draw vs host reference", same, n);
  EXPECT(same >= n - 1);  // device and host logf may differ in the last bit on a near tie
}

TEST(cuda_top_k_top_p_draws_match_the_host_reference) {
  require_gpu();
  const int vocab = 128256;
  std::mt19937 rng(6);
  std::vector<float> flat;
  std::vector<RowSampling> specs;
  // top_k alone (with a tie across its boundary), top_p alone, both, both with min_p.
  const struct {
    int32_t top_k;
    float top_p, min_p;
  } cuts[] = {{50, 1.0f, 0.0f}, {2, 1.0f, 0.0f}, {0, 0.9f, 0.0f}, {0, 0.5f, 0.0f}, {40, 0.95f, 0.0f}, {100, 0.8f, 0.05f}};
  for (int r = 0; r < 12; ++r) {
    auto row = random_f32(vocab, rng, 3.0f);
    if (r % 6 == 1) row[90000] = row[7] = row[1234] = 40.0f;  // three tied best: top_k 2 keeps 7 and 1234
    flat.insert(flat.end(), row.begin(), row.end());
    RowSampling s = draw_spec(r < 6 ? 0.8f : 1.2f, cuts[r % 6].min_p, 7919ull * (r + 3));
    s.top_k = cuts[r % 6].top_k;
    s.top_p = cuts[r % 6].top_p;
    specs.push_back(s);
  }
  const auto got = device_sample(flat, specs, vocab);
  int same = 0;
  for (size_t r = 0; r < specs.size(); ++r) {
    const int32_t want = llm::gumbel_draw(&flat[r * vocab], vocab, specs[r]);
    std::fprintf(stderr, "  OPCHECK top_k %d top_p %.2f min_p %.2f: device %d, host %d\n", specs[r].top_k,
                 static_cast<double>(specs[r].top_p), static_cast<double>(specs[r].min_p), got[r], want);
    same += got[r] == want;
    if (r % 6 == 1) EXPECT(got[r] == 7 || got[r] == 1234);
  }
  EXPECT(same >= static_cast<int>(specs.size()) - 1);  // expf/logf may differ in the last bit on a boundary
}

TEST(cuda_top_k_and_top_p_keep_exactly_their_tokens) {
  require_gpu();
  // Logits 1000 - i over i < 1000 at temperature 1e4: nearly uniform over whatever is kept, so
  // 64 keys reach every kept token and any token kept by mistake.
  const int vocab = 1000, n = 64;
  std::vector<float> row(vocab);
  for (int i = 0; i < vocab; ++i) row[i] = static_cast<float>(vocab - i);
  for (const auto& [top_k, top_p] : {std::pair<int32_t, float>{3, 1.0f}, {0, 0.004f}, {10, 0.5f}}) {
    std::vector<float> flat;
    std::vector<RowSampling> specs;
    for (int r = 0; r < n; ++r) {
      flat.insert(flat.end(), row.begin(), row.end());
      RowSampling s = draw_spec(1e4f, 0.0f, 104729ull * (r + 1));
      s.top_k = top_k;
      s.top_p = top_p;
      specs.push_back(s);
    }
    const auto got = device_sample(flat, specs, vocab);
    const uint64_t floor = llm::draw_floor(row.data(), vocab, row[0], 1e-4f, top_k, top_p);
    int kept = 0;
    while (kept < vocab && llm::draw_rank(row[kept], kept) >= floor) ++kept;
    std::vector<int> seen(vocab, 0);
    for (int32_t t : got) ++seen[t];
    int outside = 0, reached = 0;
    for (int i = 0; i < vocab; ++i) (i < kept ? reached += seen[i] > 0 : outside += seen[i]);
    std::fprintf(stderr, "  OPCHECK top_k %d top_p %.3f keeps %d: %d of them drawn, %d draws outside\n", top_k,
                 static_cast<double>(top_p), kept, reached, outside);
    EXPECT_EQ(kept, top_k == 3 ? 3 : top_p < 0.01f ? 4 : 5);  // 0.004 of 1000 ~equal masses: 4 tokens
    EXPECT_EQ(outside, 0);
    EXPECT_EQ(reached, kept);
  }
}

TEST(cuda_draws_follow_softmax) {
  require_gpu();
  const std::vector<float> l{1.0f, 0.5f, -0.5f, 0.0f, 2.0f};
  const int n = 20000;
  std::vector<float> flat;
  std::vector<RowSampling> specs;
  for (int r = 0; r < n; ++r) {
    flat.insert(flat.end(), l.begin(), l.end());
    specs.push_back(draw_spec(0.8f, 0.0f, 0x9e3779b97f4a7c15ull * (r + 7)));
  }
  const auto got = device_sample(flat, specs, 5);
  std::vector<double> f(5, 0.0);
  for (int32_t t : got) f[t] += 1.0 / n;
  const auto p = softmax_ref(l, 0.8f);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(f[i], p[i], 4 * std::sqrt(p[i] * (1 - p[i]) / n) + 1e-3);
}

TEST(cuda_sample_rows_leaves_host_rows_and_handles_a_one_token_vocab) {
  require_gpu();
  std::mt19937 rng(4);
  std::vector<std::vector<float>> rows{random_f32(1000, rng), random_f32(1000, rng), random_f32(1000, rng)};
  const auto got = device_sample(flatten(rows), {argmax_spec(), RowSampling{}, draw_spec(1.0f, 0.0f, 3)}, 1000);
  EXPECT_EQ(got[0], llm::argmax_index(rows[0].data(), 1000));
  EXPECT_EQ(got[1], -1);  // untouched poison
  EXPECT_EQ(got[2], llm::gumbel_draw(rows[2].data(), 1000, 1.0f, 0.0f, 3));
  const auto one = device_sample({3.5f, -1.0f}, {argmax_spec(), draw_spec(0.5f, 0.0f, 9)}, 1);
  EXPECT_EQ(one[0], 0);
  EXPECT_EQ(one[1], 0);
}

TEST(cuda_logprobs_rows_match_the_reference) {
  require_gpu();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const int vocab = 128256;
  std::mt19937 rng(8);
  std::vector<std::vector<float>> rows;
  std::vector<RowSampling> specs;
  auto add = [&](std::vector<float> row, RowSampling spec, int k) {
    spec.logprobs = k;
    rows.push_back(std::move(row));
    specs.push_back(spec);
  };
  add(random_f32(vocab, rng, 4.0f), argmax_spec(), 20);          // 0: greedy, the most alternatives
  add(random_f32(vocab, rng, 4.0f), draw_spec(0.8f, 0.0f, 5), 5);  // 1: a draw
  auto ties = random_f32(vocab, rng);  // 2: ties across threads (i % 1024: 369, 1, 3, 0, 671)
  for (int i : {70001, 1025, 3, 1024, 99999}) ties[i] = 30.0f;
  add(ties, argmax_spec(), 4);
  auto holes = random_f32(vocab, rng);  // 3: NaN and -inf among the best: NaN never listed
  holes[10] = nan;
  holes[11] = inf * -1;
  holes[12] = 40.0f;
  add(holes, draw_spec(1.0f, 0.1f, 6), 3);
  add(random_f32(vocab, rng), argmax_spec(), 0);  // 4: the sampled token's score only
  auto top_p = random_f32(vocab, rng, 3.0f);      // 5: a cut draw still scores the raw row
  RowSampling cut = draw_spec(0.7f, 0.0f, 7);
  cut.top_p = 0.5f;
  add(top_p, cut, 2);
  auto stride = random_f32(vocab, rng);  // 6: ties within one thread's elements (all i % 1024 == 3)
  for (int i : {2051, 5123, 3, 1027}) stride[i] = 30.0f;
  add(stride, argmax_spec(), 2);
  add(random_f32(vocab, rng), argmax_spec(), -1);  // last: no logprobs, left untouched
  std::vector<llm::RowLogprobs> got;
  const auto tokens = device_sample(flatten(rows), specs, vocab, &got);
  for (size_t r = 0; r + 1 < rows.size(); ++r) {
    llm::RowLogprobs want;
    llm::row_logprobs(rows[r].data(), vocab, tokens[r], specs[r].logprobs, &want);
    llm::TokenLogprob sampler;  // the host Sampler's scores (a double sum)
    llm::token_logprob(rows[r].data(), vocab, tokens[r], specs[r].logprobs, &sampler);
    EXPECT_EQ(got[r].count, want.count);
    EXPECT_NEAR(got[r].logprob, want.logprob, 1e-5);
    EXPECT_NEAR(got[r].logprob, sampler.logprob, 1e-4);
    for (int j = 0; j < want.count && j < got[r].count; ++j) {
      EXPECT_EQ(got[r].top_tokens[j], want.top_tokens[j]);
      EXPECT_NEAR(got[r].top_logprobs[j], want.top_logprobs[j], 1e-5);
    }
  }
  EXPECT_EQ(got[0].count, 20);
  EXPECT_EQ(got[0].top_tokens[0], tokens[0]);  // greedy: the sampled token is the best
  EXPECT_EQ(got[2].top_tokens[0], 3);          // the tie's lowest indices first
  EXPECT_EQ(got[2].top_tokens[1], 1024);
  EXPECT_EQ(got[2].top_tokens[2], 1025);
  EXPECT_EQ(got[2].top_tokens[3], 70001);
  EXPECT_EQ(got[3].top_tokens[0], 12);
  EXPECT_EQ(got[4].count, 0);
  EXPECT_EQ(got[6].top_tokens[0], 3);
  EXPECT_EQ(got[6].top_tokens[1], 1027);
  EXPECT_EQ(got.back().count, -1);  // the poison: a row without logprobs is not written
}

TEST(cuda_logprobs_of_a_vocabulary_smaller_than_k_list_every_token) {
  require_gpu();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  RowSampling spec = argmax_spec();
  spec.logprobs = 20;
  std::vector<llm::RowLogprobs> got;
  const auto tokens = device_sample({0.5f, nan, 2.0f, 2.0f, -1.0f}, {spec}, 5, &got);
  EXPECT_EQ(tokens[0], 2);
  EXPECT_EQ(got[0].count, 4);  // the NaN is not listed
  const int32_t order[] = {2, 3, 0, 4};
  for (int j = 0; j < 4; ++j) EXPECT_EQ(got[0].top_tokens[j], order[j]);
}

TEST(cuda_edited_rows_sample_as_the_reference_and_score_the_raw_row) {
  require_gpu();
  const int vocab = 128256;
  std::mt19937 rng(12);
  std::vector<std::vector<float>> rows;
  std::vector<RowSampling> specs;
  std::vector<llm::RowEdit> edits;
  // Each row: its best tokens penalised, masked or biased, so the edits decide the token.
  auto add = [&](RowSampling spec, int logprobs, std::vector<llm::RowEdit> row_edits) {
    std::vector<float> row = random_f32(vocab, rng, 3.0f);
    row[100] = 20.0f;
    row[200000 % vocab] = 19.0f;
    row[vocab - 1] = -5.0f;
    rows.push_back(row);
    spec.logprobs = logprobs;
    spec.edits_begin = static_cast<int32_t>(edits.size());
    spec.edits_count = static_cast<int32_t>(row_edits.size());
    edits.insert(edits.end(), row_edits.begin(), row_edits.end());
    specs.push_back(spec);
  };
  auto edit = [](int32_t token, float repetition, float penalty, float bias, bool masked) {
    llm::RowEdit e;
    e.token = token;
    e.repetition = repetition;
    e.penalty = penalty;
    e.bias = bias;
    e.masked = masked;
    return e;
  };
  add(argmax_spec(), -1, {edit(100, 1.0f, 0.0f, 0.0f, true)});                          // 0: the best masked
  add(argmax_spec(), 3, {edit(100, 2.0f, 1.5f, 0.0f, false), edit(vocab - 1, 1.0f, 0.0f, 40.0f, false)});  // 1
  add(draw_spec(0.8f, 0.0f, 21), 2, {edit(100, 1.3f, 0.5f, -1.0f, false), edit(200000 % vocab, 0.5f, 0.0f, 0.0f, false)});
  RowSampling cut = draw_spec(1.1f, 0.05f, 22);  // 3: a top_p draw over the edited row
  cut.top_p = 0.8f;
  std::vector<llm::RowEdit> many;  // with more edits than threads
  for (int t = 0; t < 3000; ++t) many.push_back(edit(t * 37, 1.2f, 0.1f * (t % 7), 0.0f, t % 11 == 0));
  add(cut, 20, many);
  add(argmax_spec(), -1, {});  // 4: no edits
  std::vector<llm::RowLogprobs> got;
  std::vector<float> after;
  const auto tokens = device_sample(flatten(rows), specs, vocab, &got, edits, &after);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<float> edited = rows[r];
    llm::apply_row_edits(edited.data(), edits.data() + specs[r].edits_begin, specs[r].edits_count);
    const int32_t want = specs[r].kind == RowSampling::Argmax ? llm::argmax_index(edited.data(), vocab)
                                                                : llm::gumbel_draw(edited.data(), vocab, specs[r]);
    EXPECT_EQ(tokens[r], want);
    if (specs[r].logprobs < 0) continue;
    llm::RowLogprobs ref;  // logprobs score the raw row
    llm::row_logprobs(rows[r].data(), vocab, tokens[r], specs[r].logprobs, &ref);
    EXPECT_EQ(got[r].count, ref.count);
    EXPECT_NEAR(got[r].logprob, ref.logprob, 1e-5);
    for (int j = 0; j < ref.count; ++j) EXPECT_EQ(got[r].top_tokens[j], ref.top_tokens[j]);
    // A scored row's logits are put back as they were.
    EXPECT(std::equal(rows[r].begin(), rows[r].end(), after.begin() + static_cast<std::ptrdiff_t>(r * vocab)));
  }
  EXPECT(tokens[0] != 100);
  EXPECT_EQ(tokens[1], vocab - 1);  // the bias lifts the worst token to the top
  EXPECT_EQ(got[1].top_tokens[0], 100);  // and the raw row's best is still listed first
}

#endif  // LLM_WITH_CUDA
