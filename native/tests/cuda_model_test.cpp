// Whole-model checks of the CUDA backend against the CPU backend (the reference) on the tiny
// (f32 weights, which the GPU holds as bf16) and mid (bf16) fixtures: logits of every prompt
// position, chunked prefill + decode, 16 greedy tokens, batch invariance, hidden rows
// (embeddings). Skips without a GPU or without the fixtures
// (node test/fixtures/make-tiny-model.mjs --out .data/models/{tiny,mid}-llama).
#ifndef LLM_WITH_CUDA
#include "testing.h"
TEST(cuda_model_not_built) { SKIP("engine built without CUDA (LLM_WITH_CUDA off)"); }
#else

#include <algorithm>
#include <cmath>

#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "cuda_test_util.h"
#include "model/model.h"
#include "sampling/device_sampling.h"
#include "sampling/sampler.h"

using namespace cudatest;

namespace {

constexpr int kBlock = 16, kBlocksPerSeq = 16;

struct Seq {
  int index;                    // owns blocks [index * kBlocksPerSeq, ...)
  std::vector<int32_t> tokens;  // all tokens so far
  int computed = 0;             // tokens already in the cache
};

// One step: sequence i contributes tokens [computed, computed + counts[i]); logits of its last row.
// Sequence i owns blocks [i * blocks_per_seq, (i + 1) * blocks_per_seq).
llm::ForwardBatch build(std::vector<Seq*> seqs, const std::vector<int>& counts, bool all_rows = false,
                        int blocks_per_seq = kBlocksPerSeq) {
  llm::ForwardBatch b;
  b.block_size = kBlock;
  b.max_blocks_per_seq = blocks_per_seq;
  b.query_start_loc.push_back(0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    Seq& s = *seqs[i];
    for (int k = 0; k < counts[i]; ++k) {
      const int p = s.computed + k;
      if (all_rows || k == counts[i] - 1) b.logits_indices.push_back(b.num_tokens());
      b.token_ids.push_back(s.tokens[p]);
      b.positions.push_back(p);
      b.slot_mapping.push_back((s.index * blocks_per_seq + p / kBlock) * kBlock + p % kBlock);
    }
    b.query_start_loc.push_back(b.num_tokens());
    b.seq_lens.push_back(s.computed + counts[i]);
    for (int k = 0; k < blocks_per_seq; ++k) b.block_tables.push_back(s.index * blocks_per_seq + k);
  }
  return b;
}

void advance(std::vector<Seq*> seqs, const std::vector<int>& counts) {
  for (size_t i = 0; i < seqs.size(); ++i) seqs[i]->computed += counts[i];
}

std::vector<float> run(llm::Backend& be, const llm::ForwardBatch& b, int vocab) {
  std::vector<float> out(b.logits_indices.size() * vocab, NAN);
  be.forward(b, out.data());
  return out;
}

std::vector<double> as_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

int argmax(const float* row, int n) { return static_cast<int>(std::max_element(row, row + n) - row); }

std::vector<int32_t> prompt(int n, int vocab, int salt) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 31 + salt * 17 + 5) % std::min(vocab, 256));
  return t;
}

struct Pair {
  std::shared_ptr<const llm::Model> model;
  std::unique_ptr<llm::Backend> cpu, gpu;
  int vocab = 0;
};

Pair load(const std::string& dir) {
  require_gpu();
  if (dir.empty()) SKIP("model fixture missing (node test/fixtures/make-tiny-model.mjs --out .data/models/...)");
  Pair p;
  p.model = llm::Model::load(dir);
  p.vocab = p.model->config().vocab_size;
  p.cpu = llm::make_cpu_backend(p.model, 2);
  p.gpu = llm::make_cuda_backend(p.model, 0);
  for (auto* be : {p.cpu.get(), p.gpu.get()}) be->init_kv_cache(8 * kBlocksPerSeq, kBlock);
  return p;
}

void check_prompt_logits(const std::string& dir, const char* name, double tol) {
  Pair p = load(dir);
  Seq a{0, prompt(40, p.vocab, 1)};
  auto b = build({&a}, {40}, true);
  const auto cpu = run(*p.cpu, b, p.vocab), gpu = run(*p.gpu, b, p.vocab);
  EXPECT_REL(std::string(name) + " logits, 40 positions", gpu, as_double(cpu), tol);
  int same = 0;
  for (int r = 0; r < 40; ++r) same += argmax(&gpu[static_cast<size_t>(r) * p.vocab], p.vocab) == argmax(&cpu[static_cast<size_t>(r) * p.vocab], p.vocab);
  std::fprintf(stderr, "  OPCHECK %-40s %d/40 argmax equal\n", name, same);
  EXPECT(same >= 38);
}

void check_chunked(const std::string& dir, const char* name, double tol) {
  Pair p = load(dir);
  Seq ca{0, prompt(50, p.vocab, 2)}, cb{1, prompt(20, p.vocab, 3)};
  // Step 1: a's first chunk. Step 2: a's second chunk (attends to the cached first) + b whole.
  // Then 4 decode steps of both, fed the CPU's greedy tokens.
  {
    auto b1 = build({&ca}, {30});
    EXPECT_REL(std::string(name) + " chunk 1", run(*p.gpu, b1, p.vocab), as_double(run(*p.cpu, b1, p.vocab)), tol);
    advance({&ca}, {30});
    auto b2 = build({&ca, &cb}, {20, 20});
    const auto c2 = run(*p.cpu, b2, p.vocab), g2 = run(*p.gpu, b2, p.vocab);
    EXPECT_REL(std::string(name) + " chunk 2 + prefix (mixed batch)", g2, as_double(c2), tol);
    advance({&ca, &cb}, {20, 20});
    ca.tokens.push_back(argmax(&c2[0], p.vocab));
    cb.tokens.push_back(argmax(&c2[p.vocab], p.vocab));
  }
  for (int step = 0; step < 4; ++step) {
    auto bc = build({&ca, &cb}, {1, 1});
    const auto c = run(*p.cpu, bc, p.vocab), g = run(*p.gpu, bc, p.vocab);
    EXPECT_REL(std::string(name) + " decode step " + std::to_string(step), g, as_double(c), tol);
    advance({&ca, &cb}, {1, 1});
    ca.tokens.push_back(argmax(&c[0], p.vocab));
    cb.tokens.push_back(argmax(&c[p.vocab], p.vocab));
  }
}

std::vector<int32_t> greedy(llm::Backend& be, int vocab, std::vector<int32_t> toks, int n) {
  Seq s{0, std::move(toks)};
  const int plen = static_cast<int>(s.tokens.size());
  std::vector<int32_t> out;
  auto b = build({&s}, {plen});
  auto l = run(be, b, vocab);
  s.computed = plen;
  for (int i = 0; i < n; ++i) {
    const int t = argmax(l.data(), vocab);
    out.push_back(t);
    s.tokens.push_back(t);
    if (i + 1 == n) break;
    auto d = build({&s}, {1});
    l = run(be, d, vocab);
    s.computed += 1;
  }
  return out;
}

}  // namespace

TEST(cuda_tiny_prompt_logits) { check_prompt_logits(testing::model_dir(), "tiny (f32 weights as bf16)", 3e-2); }
TEST(cuda_mid_prompt_logits) { check_prompt_logits(testing::mid_model_dir(), "mid (bf16)", 1e-2); }
TEST(cuda_tiny_chunked_prefill_decode) { check_chunked(testing::model_dir(), "tiny", 3e-2); }
TEST(cuda_mid_chunked_prefill_decode) { check_chunked(testing::mid_model_dir(), "mid", 1e-2); }

TEST(cuda_mid_greedy_16_tokens) {
  Pair p = load(testing::mid_model_dir());
  for (int salt = 0; salt < 3; ++salt) {
    const auto pr = prompt(12 + salt * 5, p.vocab, 10 + salt);
    const auto c = greedy(*p.cpu, p.vocab, pr, 16);
    const auto g = greedy(*p.gpu, p.vocab, pr, 16);
    std::fprintf(stderr, "  OPCHECK %-40s %s\n", ("mid greedy 16 tokens, prompt " + std::to_string(salt)).c_str(),
                 c == g ? "identical" : "DIFFERENT");
    EXPECT_EQ(g, c);
  }
}

TEST(cuda_mid_batch_invariance) {
  Pair p = load(testing::mid_model_dir());
  llm::Backend& be = *p.gpu;
  // Alone: a's prompt, then one decode step.
  Seq a{0, prompt(33, p.vocab, 4)};
  run(be, build({&a}, {33}), p.vocab);
  a.computed = 33;
  a.tokens.push_back(7);
  const auto alone = run(be, build({&a}, {1}), p.vocab);
  // In company: a fresh copy of a in other blocks next to a prefill and another decode.
  Seq a2{3, a.tokens}, x{4, prompt(20, p.vocab, 5)}, y{5, prompt(9, p.vocab, 6)};
  run(be, build({&a2, &y}, {33, 8}), p.vocab);
  a2.computed = 33;
  y.computed = 8;
  const auto mixed = run(be, build({&x, &a2, &y}, {20, 1, 1}), p.vocab);
  const std::vector<float> a_row(mixed.begin() + p.vocab, mixed.begin() + 2 * p.vocab);
  EXPECT_REL("mid batch invariance (decode row)", a_row, as_double(alone), 1e-3);
  EXPECT_EQ(argmax(a_row.data(), p.vocab), argmax(alone.data(), p.vocab));
  std::fprintf(stderr, "  OPCHECK %-40s %s\n", "batch invariance bitwise",
               std::equal(a_row.begin(), a_row.end(), alone.begin()) ? "yes" : "no (within tolerance)");
}

TEST(cuda_forward_step_samples_rows_on_the_device) {
  Pair p = load(testing::mid_model_dir());
  // 300 logits rows: more than one chunk of kLogitChunk (256) rows, each chunk with its own specs.
  Seq a{0, prompt(200, p.vocab, 7)}, c{1, prompt(100, p.vocab, 8)};
  auto b = build({&a, &c}, {200, 100}, true);
  CHECK_EQ(b.logits_indices.size(), size_t{300});
  const auto full = run(*p.gpu, b, p.vocab);
  // No row_sampling: every row comes back, bit for bit what forward() gives, and no tokens.
  llm::StepLogits none = p.gpu->forward_step(b, p.vocab);
  EXPECT(none.tokens == nullptr);
  EXPECT(none.logprobs == nullptr);
  EXPECT(std::equal(full.begin(), full.end(), none.logits));
  // Rows by thirds: Host, Argmax, Draw; every fourth sampled row also scored for logprobs.
  for (size_t r = 0; r < b.logits_indices.size(); ++r) {
    llm::RowSampling rs;
    rs.kind = static_cast<int32_t>(r % 3);
    rs.temperature = 0.8f;
    rs.key_lo = static_cast<uint32_t>(r * 7919 + 1);
    if (r % 4 == 1) rs.logprobs = static_cast<int32_t>(r % 21);
    if (r % 7 == 3 && rs.kind != llm::RowSampling::Host) {  // the row's best token masked, another biased
      llm::RowEdit mask, bias;
      mask.token = llm::argmax_index(&full[r * p.vocab], p.vocab);
      mask.masked = 1;
      bias.token = static_cast<int32_t>((r * 7919) % static_cast<size_t>(p.vocab));
      bias.bias = 2.5f;
      rs.edits_begin = static_cast<int32_t>(b.row_edits.size());
      rs.edits_count = mask.token == bias.token ? 1 : 2;
      b.row_edits.push_back(mask);
      if (rs.edits_count == 2) b.row_edits.push_back(bias);
    }
    b.row_sampling.push_back(rs);
  }
  llm::StepLogits some = p.gpu->forward_step(b, p.vocab);
  CHECK(some.tokens != nullptr);
  CHECK(some.logprobs != nullptr);
  int host_rows = 0, argmax_ok = 0, draws_ok = 0, scored = 0, scores_ok = 0, edited = 0;
  for (size_t r = 0; r < b.row_sampling.size(); ++r) {
    const float* want = &full[r * p.vocab];
    const llm::RowSampling& rs = b.row_sampling[r];
    std::vector<float> sampled_row(want, want + p.vocab);  // what the kernel samples: the edited row
    llm::apply_row_edits(sampled_row.data(), b.row_edits.data() + rs.edits_begin, rs.edits_count);
    edited += rs.edits_count > 0;
    if (rs.kind == llm::RowSampling::Host)
      host_rows += std::equal(want, want + p.vocab, some.logits + r * p.vocab);
    else if (rs.kind == llm::RowSampling::Argmax)
      argmax_ok += some.tokens[r] == llm::argmax_index(sampled_row.data(), p.vocab);
    else
      draws_ok += some.tokens[r] == llm::gumbel_draw(sampled_row.data(), p.vocab, rs.temperature, rs.min_p, rs.key());
    if (rs.kind == llm::RowSampling::Host || rs.logprobs < 0) continue;
    ++scored;  // the scores of this row's own token, in its own slot (rows of both chunks)
    llm::RowLogprobs ref;
    llm::row_logprobs(want, p.vocab, some.tokens[r], rs.logprobs, &ref);
    const llm::RowLogprobs& got = some.logprobs[r];
    bool same = got.count == ref.count && std::fabs(got.logprob - ref.logprob) <= 1e-5f;
    for (int j = 0; same && j < ref.count; ++j)
      same = got.top_tokens[j] == ref.top_tokens[j] && std::fabs(got.top_logprobs[j] - ref.top_logprobs[j]) <= 1e-5f;
    scores_ok += same;
  }
  std::fprintf(stderr, "  OPCHECK %-40s host rows %d, argmax %d, draws %d (of 100 each); logprobs %d/%d; %d edited\n",
               "forward_step sampling on the GPU", host_rows, argmax_ok, draws_ok, scores_ok, scored, edited);
  EXPECT_EQ(host_rows, 100);
  EXPECT_EQ(argmax_ok, 100);
  EXPECT(draws_ok >= 98);  // device and host logf may differ in the last bit on a near tie
  EXPECT_EQ(scored, 50);
  EXPECT_EQ(scores_ok, scored);
  EXPECT(edited >= 25);
}

TEST(cuda_forward_step_returns_hidden_rows_as_the_cpu_backend) {
  Pair p = load(testing::mid_model_dir());
  const int hidden = p.model->config().hidden_size;
  Seq a{0, prompt(40, p.vocab, 9)}, c{1, prompt(25, p.vocab, 4)};
  auto b = build({&a, &c}, {40, 25});
  b.logits_indices = {39};     // a samples; c is an embed request:
  b.hidden_indices = {64, 39};  // its last token's final-norm row, then a's
  const llm::StepLogits cpu = p.cpu->forward_step(b, p.vocab);
  const std::vector<float> want(cpu.hidden, cpu.hidden + 2 * hidden);
  const llm::StepLogits gpu = p.gpu->forward_step(b, p.vocab);
  CHECK(gpu.hidden != nullptr);
  const std::vector<float> got(gpu.hidden, gpu.hidden + 2 * hidden);
  EXPECT_REL("mid hidden rows (embeddings)", got, as_double(want), 1e-2);
}

TEST(cuda_decode_graphs_match_eager_steps) {
  Pair p = load(testing::mid_model_dir());
  auto* gpu = dynamic_cast<llm::cuda::CudaBackend*>(p.gpu.get());
  CHECK(gpu != nullptr);
  if (!gpu->graphs().enabled()) SKIP("CUDA graphs are off (LLM_CUDA_GRAPHS=0)");
  gpu->init_kv_cache(16 * kBlocksPerSeq, kBlock);
  const size_t V = static_cast<size_t>(p.vocab);
  // 3 sequences run padded to 4 (skinny GEMMs: bitwise), 12 padded to 16 (cuBLAS: close).
  for (int n : {3, 12}) {
    std::vector<Seq> seqs;
    for (int i = 0; i < n; ++i) seqs.push_back(Seq{i, prompt(10 + i, p.vocab, 20 + i)});
    std::vector<Seq*> ptrs;
    for (Seq& q : seqs) {
      const int len = static_cast<int>(q.tokens.size());
      const auto l = run(*gpu, build({&q}, {len}), p.vocab);
      q.computed = len;
      q.tokens.push_back(argmax(l.data(), p.vocab));
      ptrs.push_back(&q);
    }
    const std::vector<int> ones(n, 1);
    int bitwise = 0, argmax_equal = 0, tokens_equal = 0, scored_rows = 0, scores_close = 0;
    double worst = 0;
    for (int step = 0; step < 4; ++step) {  // eager warm-up, capture, then replays
      auto b = build(ptrs, ones);
      for (int i = 0; i < n; ++i) {
        llm::RowSampling rs;
        rs.kind = i % 2 ? llm::RowSampling::Argmax : llm::RowSampling::Host;
        if (i % 4 == 1) rs.logprobs = 2;
        if (i % 4 == 3) {  // a bias that decides the token: edits reach the graph's kernel
          llm::RowEdit e;
          e.token = (step * 131 + i * 31) % p.vocab;
          e.bias = 1000.0f;
          rs.edits_begin = static_cast<int32_t>(b.row_edits.size());
          rs.edits_count = 1;
          b.row_edits.push_back(e);
        }
        b.row_sampling.push_back(rs);
      }
      const llm::StepLogits g = gpu->forward_step(b, p.vocab);
      std::vector<float> graph_rows(g.logits, g.logits + n * V);
      std::vector<int32_t> graph_tokens(g.tokens, g.tokens + n);
      CHECK(g.logprobs != nullptr);
      const std::vector<llm::RowLogprobs> graph_scores(g.logprobs, g.logprobs + n);
      const std::vector<llm::RowSampling> specs = b.row_sampling;
      b.row_sampling.clear();
      const auto eager = run(*gpu, b, p.vocab);  // rewrites the same KV entries
      for (int i = 0; i < n; ++i) {
        const float* e = &eager[i * V];
        if (i % 2) {
          std::vector<float> edited(e, e + V);
          llm::apply_row_edits(edited.data(), b.row_edits.data() + specs[i].edits_begin, specs[i].edits_count);
          tokens_equal += graph_tokens[i] == llm::argmax_index(edited.data(), p.vocab);
          if (i % 4 == 1) {  // the graph's scores of the eager row (logits within 1e-3 of each other)
            llm::RowLogprobs ref;
            llm::row_logprobs(e, p.vocab, graph_tokens[i], 2, &ref);
            ++scored_rows;
            scores_close += graph_scores[i].count == 2 && graph_scores[i].top_tokens[0] == ref.top_tokens[0] &&
                            std::fabs(graph_scores[i].logprob - ref.logprob) <= 1e-2f;
          }
          continue;
        }
        const float* gr = &graph_rows[i * V];
        bitwise += std::equal(e, e + V, gr);
        argmax_equal += argmax(gr, p.vocab) == argmax(e, p.vocab);
        worst = std::max(worst, rel_error(std::vector<float>(gr, gr + V), std::vector<double>(e, e + V)));
      }
      advance(ptrs, ones);
      for (int i = 0; i < n; ++i) seqs[i].tokens.push_back(argmax(&eager[i * V], p.vocab));
    }
    const int host_rows = 4 * ((n + 1) / 2), argmax_rows = 4 * (n / 2);
    std::fprintf(stderr, "  OPCHECK %-40s n=%d: %d/%d rows bitwise (worst rel_err %.2e), %d argmax equal, %d/%d tokens equal\n",
                 "decode graph vs eager", n, bitwise, host_rows, worst, argmax_equal, tokens_equal, argmax_rows);
    if (n <= 8) EXPECT_EQ(bitwise, host_rows);
    EXPECT(worst <= 1e-3);
    EXPECT_EQ(argmax_equal, host_rows);
    EXPECT_EQ(tokens_equal, argmax_rows);
    EXPECT_EQ(scores_close, scored_rows);
    EXPECT(scored_rows >= 4);
  }
  std::fprintf(stderr, "  OPCHECK %-40s %zu captured, %lld replays, %zu failed: %s\n", "decode graphs",
               gpu->graphs().captured(), static_cast<long long>(gpu->graphs().replays()), gpu->graphs().failed(),
               gpu->graphs().status().c_str());
  EXPECT(gpu->graphs().captured() >= 2);
  EXPECT(gpu->graphs().replays() >= 4);
  EXPECT_EQ(gpu->graphs().failed(), size_t{0});
}

TEST(cuda_decode_graphs_across_a_context_bucket_and_split_attention) {
  // Contexts grow from 250 past 256 and 512: the graph shape changes twice (context buckets 256,
  // 512, 1024), and past 256 positions attention is split in two partitions and combined.
  Pair p = load(testing::mid_model_dir());
  auto* gpu = dynamic_cast<llm::cuda::CudaBackend*>(p.gpu.get());
  CHECK(gpu != nullptr);
  if (!gpu->graphs().enabled()) SKIP("CUDA graphs are off (LLM_CUDA_GRAPHS=0)");
  constexpr int kWide = 48;  // blocks per sequence: 768 tokens
  gpu->init_kv_cache(4 * kWide, kBlock);
  const size_t V = static_cast<size_t>(p.vocab);
  std::vector<Seq> seqs{Seq{0, prompt(250, p.vocab, 31)}, Seq{1, prompt(240, p.vocab, 32)}};
  std::vector<Seq*> ptrs{&seqs[0], &seqs[1]};
  for (Seq* q : ptrs) {
    const int len = static_cast<int>(q->tokens.size());
    const auto l = run(*gpu, build({q}, {len}, false, kWide), p.vocab);
    q->computed = len;
    q->tokens.push_back(argmax(l.data(), p.vocab));
  }
  const size_t captured_before = gpu->graphs().captured();
  const std::vector<int> ones{1, 1};
  int rows = 0, bitwise = 0;
  for (int step = 0; step < 280; ++step) {  // contexts 251..530 and 241..520
    auto b = build(ptrs, ones, false, kWide);
    b.row_sampling.assign(2, llm::RowSampling{});
    const llm::StepLogits g = gpu->forward_step(b, p.vocab);
    const std::vector<float> graph_rows(g.logits, g.logits + 2 * V);
    b.row_sampling.clear();
    const auto eager = run(*gpu, b, p.vocab);
    for (int i = 0; i < 2; ++i) {
      ++rows;
      bitwise += std::equal(&eager[i * V], &eager[i * V] + V, &graph_rows[i * V]);
    }
    advance(ptrs, ones);
    for (int i = 0; i < 2; ++i) seqs[i].tokens.push_back(argmax(&eager[i * V], p.vocab));
  }
  std::fprintf(stderr, "  OPCHECK %-40s %d/%d rows bitwise, %zu graphs captured for it\n",
               "decode graph across buckets", bitwise, rows, gpu->graphs().captured() - captured_before);
  EXPECT_EQ(bitwise, rows);  // 2 sequences padded to 2: the same kernels as the eager step
  EXPECT(gpu->graphs().captured() - captured_before >= 2);  // context buckets 256 and 512 at least
  EXPECT_EQ(gpu->graphs().failed(), size_t{0});
}

TEST(cuda_rejects_bad_batch) {
  Pair p = load(testing::model_dir());
  Seq a{0, prompt(4, p.vocab, 1)};
  auto b = build({&a}, {4});
  b.block_tables[0] = 100000;
  std::vector<float> out(p.vocab);
  EXPECT_THROWS(p.gpu->forward(b, out.data()), "block table");
  auto b2 = build({&a}, {4});
  b2.logits_indices = {9};
  EXPECT_THROWS(p.gpu->forward(b2, out.data()), "logits index");
}

#endif  // LLM_WITH_CUDA
