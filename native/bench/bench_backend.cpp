#include "bench_backend.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#ifdef LLM_WITH_CUDA
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.h"
#endif

namespace bench {

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Builds a batch: sequence s owns blocks [s * bps, (s + 1) * bps) and contributes tokens at
// positions [start[s], start[s] + count[s]).
llm::ForwardBatch make_batch(const std::vector<int>& start, const std::vector<int>& count, int bps, int block_size,
                             int vocab, std::mt19937& rng, bool all_logits) {
  llm::ForwardBatch b;
  b.block_size = block_size;
  b.max_blocks_per_seq = bps;
  std::uniform_int_distribution<int> tok(0, std::min(vocab, 120000) - 1);
  b.query_start_loc.push_back(0);
  for (size_t s = 0; s < start.size(); ++s) {
    for (int i = 0; i < count[s]; ++i) {
      const int p = start[s] + i;
      if (all_logits || i == count[s] - 1) b.logits_indices.push_back(b.num_tokens());
      b.token_ids.push_back(tok(rng));
      b.positions.push_back(p);
      b.slot_mapping.push_back((static_cast<int>(s) * bps + p / block_size) * block_size + p % block_size);
    }
    b.query_start_loc.push_back(b.num_tokens());
    b.seq_lens.push_back(start[s] + count[s]);
    for (int k = 0; k < bps; ++k) b.block_tables.push_back(static_cast<int>(s) * bps + k);
  }
  return b;
}

double device_copy_bandwidth() {
#ifdef LLM_WITH_CUDA
  const size_t bytes = 1ull << 30;
  void *a = nullptr, *b = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) {
    cudaGetLastError();
    if (a) cudaFree(a);
    return 0;
  }
  cudaMemset(a, 1, bytes);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<double> t;
  for (int i = 0; i < 8; ++i) {
    cudaEventRecord(e0);
    cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    if (i >= 2) t.push_back(ms);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (median(t) * 1e-3) / 1e9;  // read + write
#else
  return 0;
#endif
}

#ifdef LLM_WITH_CUDA
llm::cuda::OpTimer* op_timer_of(llm::Backend& backend) {
  auto* cuda = dynamic_cast<llm::cuda::CudaBackend*>(&backend);
  return cuda && cuda->op_timer().enabled() ? &cuda->op_timer() : nullptr;
}
#endif

// Starts a timed phase: forgets the op times of earlier (warm-up, cache-filling) steps.
void start_phase(llm::Backend& backend) {
#ifdef LLM_WITH_CUDA
  if (auto* t = op_timer_of(backend)) t->reset();
#endif
  (void)backend;
}

// Ends a timed phase: its op times per step, printed and kept (nothing without op timing).
void end_phase(llm::Backend& backend, const std::string& phase, std::vector<OpPhase>* out) {
#ifdef LLM_WITH_CUDA
  auto* t = op_timer_of(backend);
  if (!t || t->steps() == 0) return;
  OpPhase p;
  p.phase = phase;
  p.steps = t->steps();
  double total = 0;
  for (int op = 0; op < llm::cuda::OpTimer::kNumOps; ++op) {
    const double ms = t->total_ms(op) / static_cast<double>(t->steps());
    p.ms_per_step.emplace_back(llm::cuda::OpTimer::name(op), ms);
    total += ms;
  }
  std::fprintf(stderr, "  op timing, %s (%lld steps), GPU ms per step: total %.3f |", phase.c_str(),
               static_cast<long long>(p.steps), total);
  for (const auto& [name, ms] : p.ms_per_step)
    if (ms > 0) std::fprintf(stderr, " %s %.3f", name.c_str(), ms);
  std::fprintf(stderr, "\n");
  out->push_back(std::move(p));
  t->reset();
#else
  (void)backend;
  (void)phase;
  (void)out;
#endif
}

double memory_in_use(bool cuda) {
#ifdef LLM_WITH_CUDA
  if (cuda) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) return static_cast<double>(total_b - free_b);
  }
#endif
  (void)cuda;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;
}

}  // namespace

std::vector<float> prompt_logits(std::shared_ptr<const llm::Model> model, llm::Backend& backend,
                                 const std::vector<int32_t>& tokens) {
  const int bs = 16, T = static_cast<int>(tokens.size());
  const int bps = (T + bs - 1) / bs;
  backend.init_kv_cache(bps + 1, bs);
  std::mt19937 rng(1);
  llm::ForwardBatch b = make_batch({0}, {T}, bps, bs, model->config().vocab_size, rng, true);
  b.token_ids = tokens;
  std::vector<float> logits(static_cast<size_t>(T) * model->config().vocab_size);
  backend.forward(b, logits.data());
  return logits;
}

BackendResults bench_backend(std::shared_ptr<const llm::Model> model, llm::Backend& backend,
                             const BackendBenchOptions& opt) {
  const llm::ModelConfig& c = model->config();
  const bool cuda = backend.name() == "cuda";
  BackendResults r;
  r.backend = backend.name();
  r.prompt_len = opt.prompt_len;
  r.ttft_len = opt.ttft_len;
  for (const auto& t : {&model->weights().embed, &model->weights().final_norm}) r.weight_bytes += t->numel() * 2.0;
  for (const auto& L : model->weights().layers)
    for (const auto* t : {&L.attn_norm, &L.wq, &L.wk, &L.wv, &L.wo, &L.mlp_norm, &L.w_gate, &L.w_up, &L.w_down})
      r.weight_bytes += t->numel() * 2.0;
  if (!c.tie_word_embeddings) r.weight_bytes += model->weights().lm_head.numel() * 2.0;
  if (cuda) r.copy_bw_gbs = device_copy_bandwidth();

  const int bs = 16;
  int max_batch = 1;
  for (int b : opt.batch_sizes) max_batch = std::max(max_batch, b);
  const int dctx = opt.decode_context > 0 ? opt.decode_context : opt.prompt_len;
  const int ctx_needed = std::max({opt.ttft_len, opt.prompt_len, dctx + opt.decode_steps + 2});
  const int bps = (ctx_needed + bs - 1) / bs;
  backend.init_kv_cache(max_batch * bps, bs);
  std::mt19937 rng(7);
  std::vector<float> logits;
  auto ensure_logits = [&](size_t rows) {
    if (logits.size() < rows * c.vocab_size) logits.resize(rows * c.vocab_size);
  };

  // Warm-up, then prompt throughput and TTFT.
  ensure_logits(max_batch);
  {
    llm::ForwardBatch w = make_batch({0}, {std::min(opt.prompt_len, 32)}, bps, bs, c.vocab_size, rng, false);
    backend.forward(w, logits.data());
  }
  std::vector<double> t;
  start_phase(backend);
  for (int i = 0; i < opt.repeats; ++i) {
    llm::ForwardBatch b = make_batch({0}, {opt.prompt_len}, bps, bs, c.vocab_size, rng, false);
    const double t0 = now_ms();
    backend.forward(b, logits.data());
    t.push_back(now_ms() - t0);
  }
  r.prompt_tok_s = opt.prompt_len / (median(t) * 1e-3);
  end_phase(backend, "prompt " + std::to_string(opt.prompt_len), &r.op_phases);
  t.clear();
  for (int i = 0; i < opt.repeats && opt.ttft_len > 0; ++i) {
    llm::ForwardBatch b = make_batch({0}, {opt.ttft_len}, bps, bs, c.vocab_size, rng, false);
    const double t0 = now_ms();
    backend.forward(b, logits.data());
    t.push_back(now_ms() - t0);
  }
  r.ttft_ms = median(t);
  end_phase(backend, "prefill 1x" + std::to_string(opt.ttft_len), &r.op_phases);
  // Several prompts in one step, as the offline run's prefill chunks are (CUDA only: on a CPU
  // this is just more of the same work).
  if (cuda && opt.ttft_len > 0) {
    const int n = std::max(1, std::min(max_batch, 8192 / opt.ttft_len));
    t.clear();
    for (int i = 0; i < opt.repeats; ++i) {
      llm::ForwardBatch b = make_batch(std::vector<int>(n, 0), std::vector<int>(n, opt.ttft_len), bps, bs,
                                       c.vocab_size, rng, false);
      ensure_logits(b.logits_indices.size());
      const double t0 = now_ms();
      backend.forward(b, logits.data());
      t.push_back(now_ms() - t0);
    }
    r.batched_prefill_seqs = n;
    r.batched_prefill_tok_s = n * opt.ttft_len / (median(t) * 1e-3);
    end_phase(backend, "prefill " + std::to_string(n) + "x" + std::to_string(opt.ttft_len), &r.op_phases);
    std::fprintf(stderr, "  prefill %d x %d tokens in one step: %.0f tok/s\n", n, opt.ttft_len, r.batched_prefill_tok_s);
  }

  const double kv_per_token = static_cast<double>(backend.kv_block_bytes(bs)) / bs;
  for (int B : opt.batch_sizes) {
    // Fill each sequence's cache with a prompt (in chunks that keep the step under ~2048 tokens).
    const int per_step = std::max(1, 2048 / dctx);
    for (int s0 = 0; s0 < B; s0 += per_step) {
      std::vector<int> start, count;
      for (int s = s0; s < std::min(B, s0 + per_step); ++s) {
        start.push_back(0);
        count.push_back(dctx);
      }
      // Sequences s0.. use blocks of sequence index s: shift by building with a padded start list.
      std::vector<int> st(B, 0), ct(B, 0);
      for (size_t i = 0; i < start.size(); ++i) ct[s0 + i] = dctx;
      llm::ForwardBatch b;
      {
        llm::ForwardBatch full = make_batch(st, ct, bps, bs, c.vocab_size, rng, false);
        // Drop sequences with no tokens (they have none in this chunk).
        b.block_size = bs;
        b.max_blocks_per_seq = bps;
        b.token_ids = full.token_ids;
        b.positions = full.positions;
        b.slot_mapping = full.slot_mapping;
        b.query_start_loc.push_back(0);
        for (int s = 0; s < B; ++s) {
          if (ct[s] == 0) continue;
          b.query_start_loc.push_back(b.query_start_loc.back() + ct[s]);
          b.seq_lens.push_back(ct[s]);
          for (int k = 0; k < bps; ++k) b.block_tables.push_back(s * bps + k);
          b.logits_indices.push_back(b.query_start_loc.back() - 1);
        }
      }
      ensure_logits(b.logits_indices.size());
      backend.forward(b, logits.data());
    }
    std::vector<double> steps;
    start_phase(backend);
    for (int i = 0; i < opt.decode_steps; ++i) {
      std::vector<int> st(B, dctx + i), ct(B, 1);
      llm::ForwardBatch b = make_batch(st, ct, bps, bs, c.vocab_size, rng, false);
      b.row_sampling.assign(b.logits_indices.size(), llm::RowSampling{llm::RowSampling::Argmax});  // greedy, as the engine runs it
      const double t0 = now_ms();
      backend.forward_step(b, c.vocab_size);
      if (i >= 2) steps.push_back(now_ms() - t0);
    }
    DecodePoint p;
    p.batch = B;
    p.context = dctx + opt.decode_steps / 2;
    p.step_ms = median(steps);
    p.tok_per_s = B / (p.step_ms * 1e-3);
    p.kv_bytes = kv_per_token * B * p.context;
    if (r.copy_bw_gbs > 0) p.floor_ms = (r.weight_bytes + p.kv_bytes) / (r.copy_bw_gbs * 1e9) * 1e3;
    r.decode.push_back(p);
    end_phase(backend, "decode b" + std::to_string(B), &r.op_phases);
    std::fprintf(stderr, "  decode batch %d: %.3f ms/step, %.1f tok/s\n", B, p.step_ms, p.tok_per_s);
    if (B != 1) continue;
    for (int k : opt.verify_drafts) {
      std::vector<double> vsteps;
      for (int i = 0; i < opt.decode_steps; ++i) {
        llm::ForwardBatch b = make_batch({dctx}, {1 + k}, bps, bs, c.vocab_size, rng, true);
        ensure_logits(b.logits_indices.size());
        const double t0 = now_ms();
        backend.forward(b, logits.data());
        if (i >= 2) vsteps.push_back(now_ms() - t0);
      }
      r.verify.push_back(VerifyPoint{k, median(vsteps)});
      std::fprintf(stderr, "  verify 1 + %d tokens (batch 1): %.3f ms/step\n", k, r.verify.back().step_ms);
    }
  }
  r.peak_mem_bytes = memory_in_use(cuda);
  return r;
}

}  // namespace bench
