// The CPU backend against a naive float64 forward: whole prefill, chunked prefill over a shuffled
// paged layout, mixed prefill + decode batches, the mid fixture (bf16, tied, Llama 3 rope
// scaling); bitwise batch and thread-count invariance; invalid batches are errors.
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "cpu_reference.h"
#include "cpu_test_util.h"
#include "llm/error.h"
#include "testing.h"

using cputest::prompt;
using cputest::run_chunked;

namespace {

std::shared_ptr<const llm::Model> load(const std::string& dir) {
  if (dir.empty()) SKIP("no model fixture (run node test/fixtures/make-tiny-model.mjs)");
  return llm::Model::load(dir);
}

double max_abs_diff(const float* a, const double* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

}  // namespace

TEST(tiny_prefill_matches_float64_reference) {
  auto m = load(testing::model_dir());
  const int V = m->config().vocab_size;
  auto be = llm::make_cpu_backend(m, 2);
  be->init_kv_cache(64, 16);
  const auto tokens = prompt(40, 1, V);
  const auto want = ref::forward(*m, tokens);
  const auto whole = run_chunked(*be, V, tokens, 1000, 3);
  const double d = max_abs_diff(whole.data(), want.data(), want.size());
  std::fprintf(stderr, "  tiny prefill max abs diff vs float64: %.3g\n", d);
  EXPECT(d < 1e-4);
  // Chunked prefill (chunks straddle block boundaries) and token-by-token decode give the same
  // logits, bit for bit: every key is read back from the paged cache either way.
  for (int chunk : {7, 16, 1}) {
    const auto got = run_chunked(*be, V, tokens, chunk, 100 + chunk);
    CHECK_EQ(got.size(), whole.size());
    EXPECT(std::memcmp(got.data(), whole.data(), got.size() * sizeof(float)) == 0);
  }
}

TEST(logits_vary_with_the_prompt) {
  auto m = load(testing::model_dir());
  const int V = m->config().vocab_size;
  auto be = llm::make_cpu_backend(m, 1);
  be->init_kv_cache(64, 16);
  // Greedy continuations of different prompts differ: the fixture is not degenerate.
  std::vector<std::vector<int32_t>> outs;
  for (uint64_t seed : {11, 12, 13}) {
    ref::PagedSeqs ps(64, 16, 1, seed);
    std::vector<int32_t> toks = prompt(6, seed, 256);
    std::vector<float> lg(V);
    llm::ForwardBatch b = ps.step({{0, toks, false}});
    std::vector<int32_t> gen;
    for (int i = 0; i < 12; ++i) {
      be->forward(b, lg.data());
      int32_t best = static_cast<int32_t>(std::max_element(lg.begin(), lg.end()) - lg.begin());
      gen.push_back(best);
      b = ps.step({{0, {best}, false}});
    }
    outs.push_back(gen);
  }
  EXPECT(outs[0] != outs[1]);
  EXPECT(outs[1] != outs[2]);
  std::set<int32_t> distinct(outs[0].begin(), outs[0].end());
  EXPECT(distinct.size() > 1);
}

TEST(mixed_batches_match_reference_and_are_batch_invariant) {
  auto m = load(testing::model_dir());
  const int V = m->config().vocab_size;
  auto be = llm::make_cpu_backend(m, 2);
  be->init_kv_cache(128, 16);
  const auto a = prompt(21, 5, V), b = prompt(35, 6, V), c = prompt(9, 7, V);
  const auto ra = ref::forward(*m, a), rb = ref::forward(*m, b), rc = ref::forward(*m, c);

  ref::PagedSeqs ps(128, 16, 3, 42);
  // Step 1: a's first 20 tokens and b's first 17 (chunked prefill).
  llm::ForwardBatch s1 = ps.step({{0, {a.begin(), a.begin() + 20}, true}, {1, {b.begin(), b.begin() + 17}, true}});
  std::vector<float> l1(s1.logits_indices.size() * V);
  be->forward(s1, l1.data());
  EXPECT(max_abs_diff(l1.data(), ra.data(), 20 * V) < 1e-4);
  EXPECT(max_abs_diff(l1.data() + 20 * V, rb.data(), 17 * V) < 1e-4);
  // Step 2: a decodes its last token, b prefills the rest, c prefills all of it.
  llm::ForwardBatch s2 = ps.step({{0, {a[20]}, false}, {1, {b.begin() + 17, b.end()}, true}, {2, c, true}});
  std::vector<float> l2(s2.logits_indices.size() * V);
  be->forward(s2, l2.data());
  EXPECT(max_abs_diff(l2.data(), ra.data() + 20 * V, V) < 1e-4);
  EXPECT(max_abs_diff(l2.data() + V, rb.data() + 17 * V, 18 * V) < 1e-4);
  EXPECT(max_abs_diff(l2.data() + 19 * V, rc.data(), 9 * V) < 1e-4);

  // a's last token alone (fresh cache, same tokens): bitwise the same logits as in the batch.
  auto solo = run_chunked(*be, V, a, 1000, 9);
  EXPECT(std::memcmp(solo.data() + 20 * V, l2.data(), V * sizeof(float)) == 0);
  // c alone: bitwise equal too.
  auto solo_c = run_chunked(*be, V, c, 4, 10);
  EXPECT(std::memcmp(solo_c.data(), l2.data() + 19 * V, 9 * V * sizeof(float)) == 0);
}

TEST(thread_count_does_not_change_results) {
  auto m = load(testing::model_dir());
  const int V = m->config().vocab_size;
  const auto tokens = prompt(33, 8, V);
  std::vector<float> base;
  for (int threads : {1, 2, 3}) {
    auto be = llm::make_cpu_backend(m, threads);
    be->init_kv_cache(64, 16);
    auto got = run_chunked(*be, V, tokens, 10, 4);
    if (base.empty()) base = got;
    else EXPECT(std::memcmp(base.data(), got.data(), got.size() * sizeof(float)) == 0);
  }
}

TEST(mid_bf16_tied_rope_scaling_matches_reference) {
  auto m = load(testing::mid_model_dir());
  const int V = m->config().vocab_size;
  auto be = llm::make_cpu_backend(m, 2);
  be->init_kv_cache(64, 16);
  const auto tokens = prompt(48, 2, V);
  const auto want = ref::forward(*m, tokens);
  const auto got = run_chunked(*be, V, tokens, 13, 5);
  const double d = max_abs_diff(got.data(), want.data(), want.size());
  std::fprintf(stderr, "  mid prefill max abs diff vs float64: %.3g\n", d);
  EXPECT(d < 1e-4);
}

TEST(invalid_batches_throw) {
  auto m = load(testing::model_dir());
  const int V = m->config().vocab_size;
  auto be = llm::make_cpu_backend(m, 1);
  std::vector<float> lg(64 * V);
  ref::PagedSeqs ps(8, 16, 1, 1);
  llm::ForwardBatch good = ps.step({{0, {1, 2, 3}, true}});
  EXPECT_THROWS(be->forward(good, lg.data()), "init_kv_cache");
  be->init_kv_cache(8, 16);
  be->forward(good, lg.data());
  auto bad = good;
  bad.token_ids[1] = V;
  EXPECT_THROWS(be->forward(bad, lg.data()), "out of vocabulary");
  bad = good;
  bad.slot_mapping[0] = 8 * 16;
  EXPECT_THROWS(be->forward(bad, lg.data()), "slot");
  bad = good;
  bad.block_tables[0] = 99;
  EXPECT_THROWS(be->forward(bad, lg.data()), "block table");
  bad = good;
  bad.positions[2] = 3;
  EXPECT_THROWS(be->forward(bad, lg.data()), "position");
  bad = good;
  bad.logits_indices.push_back(3);
  EXPECT_THROWS(be->forward(bad, lg.data()), "logits index");
  bad = good;
  bad.query_start_loc[1] = 2;
  EXPECT_THROWS(be->forward(bad, lg.data()), "query_start_loc");
  bad = good;
  bad.block_size = 8;
  EXPECT_THROWS(be->forward(bad, lg.data()), "block_size");
  EXPECT_THROWS(be->init_kv_cache(0, 16), "num_blocks");
}

TEST(kv_sizes) {
  auto m = load(testing::model_dir());
  auto be = llm::make_cpu_backend(m, 1);
  const auto& c = m->config();
  EXPECT_EQ(be->kv_block_bytes(16), size_t{2} * c.num_layers * 16 * c.num_kv_heads * c.head_dim * 4);
  EXPECT(be->available_kv_bytes(0.5) > 0);
  EXPECT(be->available_kv_bytes(0.5) <= be->available_kv_bytes(0.9));
  EXPECT_EQ(be->available_kv_bytes(0.0), size_t{0});
  EXPECT_EQ(be->name(), std::string("cpu"));
}
