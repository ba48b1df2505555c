#include "backend/cpu/cpu_backend.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <thread>

#include "backend/cpu/int4_gemm.h"
#include "backend/cpu/ops.h"
#include "backend/cpu/quantize_int4.h"
#include "backend/cpu/quantize_int8.h"
#include "backend/cpu/source_pages.h"
#include "llm/error.h"

namespace llm {
namespace cpu {

namespace {

int default_threads(int threads) {
  if (threads > 0) return threads;
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

size_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream ss(line.substr(13));
      unsigned long long kb = 0;
      ss >> kb;
      return static_cast<size_t>(kb) * 1024;
    }
  }
  return size_t{1} << 30;  // unknown: assume 1 GiB
}

}  // namespace

CpuBackend::CpuBackend(std::shared_ptr<const Model> model, int threads, CpuWeights weights)
    : model_(std::move(model)),
      cfg_(model_->config()),
      kern_(kernels()),
      weights_(weights),
      int8_pairs_(weights == CpuWeights::Int8Bf16),
      pool_(default_threads(threads)) {
  if (int8_pairs_ && !kern_.int8_pairs)
    throw Error(std::string("cpu backend: quantization int8-bf16 needs AVX512_BF16 (kernels: ") + kern_.isa +
                "); use int8");
  const ModelWeights& w = model_->weights();
  auto norm = [&](const TensorView& t) {
    std::vector<float> v(static_cast<size_t>(t.numel()));
    kern_.to_f32(t.dtype, t.data, v.data(), t.numel());
    return v;
  };
  for (const LayerWeights& lw : w.layers) {
    Layer l;
    l.attn_norm = norm(lw.attn_norm);
    l.mlp_norm = norm(lw.mlp_norm);
    l.wq = linear(lw.wq);
    l.wk = linear(lw.wk);
    l.wv = linear(lw.wv);
    l.wo = linear(lw.wo);
    l.w_gate = linear(lw.w_gate);
    l.w_up = linear(lw.w_up);
    l.w_down = linear(lw.w_down);
    layers_.push_back(std::move(l));
  }
  embed_ = weight(w.embed);
  lm_head_ = linear(w.lm_head.data == w.embed.data ? w.embed : w.lm_head);
  final_norm_ = norm(w.final_norm);
  inv_freq_ = rope_inv_freq(cfg_);
}

WeightMatrix CpuBackend::weight(const TensorView& t) {
  WeightMatrix m;
  m.dtype = t.dtype;
  m.rows = t.shape.at(0);
  m.cols = t.shape.size() > 1 ? t.shape[1] : 1;
  m.data = t.data;
  if (reinterpret_cast<uintptr_t>(t.data) % dtype_size(t.dtype) != 0) {  // keep loads aligned
    owned_.emplace_back((t.nbytes() + 3) / 4);
    std::memcpy(owned_.back().data(), t.data, t.nbytes());
    m.data = owned_.back().data();
  }
  return m;
}

void CpuBackend::FreeDeleter::operator()(void* p) const { std::free(p); }

CpuBackend::Linear CpuBackend::linear(const TensorView& t) {
  Linear l;
  l.w = weight(t);
  pack(l);
  return l;
}

// Repacks a weight into the ISA's panel layout (all threads; panels split evenly).
void CpuBackend::pack(Linear& l) {
  static const bool disabled = [] {
    const char* e = std::getenv("LLM_CPU_PACK");  // LLM_CPU_PACK=0: keep the stored layout (for comparisons)
    return e && std::string(e) == "0";
  }();
  const bool int4 = weights_ == CpuWeights::Int4, int8 = weights_ != CpuWeights::Stored && !int4;
  if ((int8 || int4) && (disabled || kern_.panel <= 0))
    throw Error(std::string("cpu backend: ") + (int4 ? "int4" : "int8") +
                " quantization needs the packed GEMM of AVX2 or AVX-512 (kernels: " +
                kern_.isa + (disabled ? ", LLM_CPU_PACK=0)" : ")"));
  if (disabled || kern_.panel <= 0 || l.w.rows <= 0 || l.w.cols <= 0) return;
  // Large weights on 2 MiB-aligned transparent huge pages: fewer TLB misses while streaming them.
  const size_t huge = size_t{2} << 20;
  const size_t need = int4   ? int4_packed_bytes(l.w, kern_.panel)
                      : int8 ? int8_packed_bytes(l.w, kern_.panel, int8_pairs_)
                             : kern_.packed_bytes(l.w);
  const size_t align = need >= huge ? huge : 64;
  const size_t bytes = (need + align - 1) / align * align;
  void* buf = std::aligned_alloc(align, bytes);
  if (!buf) throw Error("cpu backend: cannot allocate " + std::to_string(bytes) + " bytes for a packed weight");
  packed_.emplace_back(buf);
  if (align == huge) madvise(buf, bytes, MADV_HUGEPAGE);  // a hint: failure only costs speed
  const int64_t panels = (l.w.rows + kern_.panel - 1) / kern_.panel;
  const Kernels& k = kern_;
  const WeightMatrix& w = l.w;
  const int panel = kern_.panel;
  const bool pairs = int8_pairs_;
  pool_.run([&](int i, int n) {
    if (int4)
      quantize_int4_panels(w, panel, panels * i / n, panels * (i + 1) / n, buf, k.to_f32);
    else if (int8)
      quantize_int8_panels(w, panel, panels * i / n, panels * (i + 1) / n, buf, k.to_f32, pairs);
    else
      k.pack(w, panels * i / n, panels * (i + 1) / n, buf);
  });
  const DType dtype = int4 ? DType::I4 : int8 ? DType::I8 : l.w.dtype;
  l.packed = PackedMatrix{dtype, buf, l.w.rows, l.w.cols, kern_.panel, int8_pairs_};
  // The stored copy is no longer read by the GEMMs (the embedding reads a few rows of it).
  release_file_pages(l.w.data, static_cast<size_t>(l.w.rows) * l.w.cols * dtype_size(l.w.dtype));
}

size_t CpuBackend::kv_block_bytes(int block_size) const {
  return size_t{2} * cfg_.num_layers * block_size * cfg_.num_kv_heads * cfg_.head_dim * sizeof(float);
}

size_t CpuBackend::available_kv_bytes(double fraction) const {
  if (!(fraction > 0)) return 0;
  fraction = std::min(fraction, 1.0);
  // Activations for a 2048-token step, and the weights' pages (mmapped: counted as available).
  const size_t act = size_t{2048} *
                     (size_t{6} * cfg_.hidden_size + size_t{3} * cfg_.num_heads * cfg_.head_dim +
                      size_t{3} * cfg_.intermediate_size) *
                     sizeof(float);
  size_t weights = 0;
  const ModelWeights& w = model_->weights();
  weights += w.embed.nbytes() + (w.lm_head.data != w.embed.data ? w.lm_head.nbytes() : 0);
  for (const LayerWeights& l : w.layers)
    weights += l.wq.nbytes() + l.wk.nbytes() + l.wv.nbytes() + l.wo.nbytes() + l.w_gate.nbytes() +
               l.w_up.nbytes() + l.w_down.nbytes();
  const double avail = static_cast<double>(mem_available_bytes()) * fraction - static_cast<double>(act + weights);
  return avail > 0 ? static_cast<size_t>(avail) : 0;
}

void CpuBackend::init_kv_cache(int num_blocks, int block_size) {
  if (num_blocks <= 0 || block_size <= 0) throw Error("cpu backend: KV cache needs num_blocks > 0 and block_size > 0");
  const size_t per_layer = static_cast<size_t>(num_blocks) * block_size * cfg_.num_kv_heads * cfg_.head_dim;
  k_cache_.clear();
  v_cache_.clear();
  try {
    for (int l = 0; l < cfg_.num_layers; ++l) {
      k_cache_.emplace_back(new float[per_layer]);
      v_cache_.emplace_back(new float[per_layer]);
    }
  } catch (const std::bad_alloc&) {
    k_cache_.clear();
    v_cache_.clear();
    throw Error("cpu backend: cannot allocate the KV cache (" + std::to_string(num_blocks) + " blocks of " +
                std::to_string(kv_block_bytes(block_size)) + " bytes)");
  }
  num_blocks_ = num_blocks;
  block_size_ = block_size;
}

void CpuBackend::validate(const ForwardBatch& b) const {
  auto fail = [](const std::string& m) { throw Error("cpu backend: invalid batch: " + m); };
  if (num_blocks_ == 0) fail("init_kv_cache was not called");
  const int T = b.num_tokens(), S = b.num_seqs();
  if (T == 0 || S == 0) fail("no tokens");
  if (b.positions.size() != static_cast<size_t>(T) || b.slot_mapping.size() != static_cast<size_t>(T))
    fail("positions/slot_mapping sizes differ from token_ids");
  if (b.query_start_loc.size() != static_cast<size_t>(S) + 1 || b.query_start_loc[0] != 0 ||
      b.query_start_loc[S] != T)
    fail("query_start_loc must have num_seqs + 1 entries from 0 to num_tokens");
  if (b.block_size != block_size_) fail("block_size differs from the KV cache's");
  if (b.max_blocks_per_seq <= 0 ||
      b.block_tables.size() != static_cast<size_t>(S) * static_cast<size_t>(b.max_blocks_per_seq))
    fail("block_tables must be num_seqs x max_blocks_per_seq");
  const int64_t slots = static_cast<int64_t>(num_blocks_) * block_size_;
  for (int s = 0; s < S; ++s) {
    const int q0 = b.query_start_loc[s], q1 = b.query_start_loc[s + 1];
    if (q1 <= q0) fail("sequence " + std::to_string(s) + " has no tokens");
    const int len = b.seq_lens[s];
    if (len <= 0 || (len + block_size_ - 1) / block_size_ > b.max_blocks_per_seq)
      fail("seq_lens[" + std::to_string(s) + "] does not fit its block table");
    for (int i = 0; i < (len + block_size_ - 1) / block_size_; ++i) {
      const int32_t blk = b.block_tables[static_cast<size_t>(s) * b.max_blocks_per_seq + i];
      if (blk < 0 || blk >= num_blocks_) fail("block table entry out of range in sequence " + std::to_string(s));
    }
    for (int t = q0; t < q1; ++t) {
      if (b.positions[t] < 0 || b.positions[t] >= len)
        fail("position " + std::to_string(b.positions[t]) + " outside its sequence length " + std::to_string(len));
    }
  }
  for (int t = 0; t < T; ++t) {
    if (b.token_ids[t] < 0 || b.token_ids[t] >= cfg_.vocab_size)
      fail("token id " + std::to_string(b.token_ids[t]) + " out of vocabulary");
    if (b.slot_mapping[t] < 0 || b.slot_mapping[t] >= slots) fail("slot " + std::to_string(b.slot_mapping[t]) + " out of range");
  }
  for (int32_t r : b.logits_indices)
    if (r < 0 || r >= T) fail("logits index " + std::to_string(r) + " out of range");
  for (int32_t r : b.hidden_indices)
    if (r < 0 || r >= T) fail("hidden index " + std::to_string(r) + " out of range");
}

const float* CpuBackend::last_hidden_rows(const ForwardBatch& b) {
  const int hidden = cfg_.hidden_size;
  hidden_rows_.resize(b.hidden_indices.size() * static_cast<size_t>(hidden));
  // x_ still holds the residual stream after the last layer: the final norm, as before the lm_head.
  for (size_t j = 0; j < b.hidden_indices.size(); ++j)
    rmsnorm_rows(x_.data() + static_cast<int64_t>(b.hidden_indices[j]) * hidden, final_norm_.data(),
                 hidden_rows_.data() + j * hidden, 1, hidden, cfg_.rms_norm_eps);
  return hidden_rows_.data();
}

void CpuBackend::ensure_scratch(int tokens, int logit_rows) {
  if (tokens > cap_tokens_) {
    const size_t T = static_cast<size_t>(tokens);
    const size_t hidden = cfg_.hidden_size, qd = static_cast<size_t>(cfg_.num_heads) * cfg_.head_dim;
    const size_t kvd = static_cast<size_t>(cfg_.num_kv_heads) * cfg_.head_dim, ffn = cfg_.intermediate_size;
    x_.resize(T * hidden);
    h_.resize(T * hidden);
    tmp_.resize(T * hidden);
    q_.resize(T * qd);
    attn_.resize(T * qd);
    k_.resize(T * kvd);
    v_.resize(T * kvd);
    gate_.resize(T * ffn);
    up_.resize(T * ffn);
    cos_.resize(T * (cfg_.head_dim / 2));
    sin_.resize(T * (cfg_.head_dim / 2));
    token_seq_.resize(T);
    cap_tokens_ = tokens;
  }
  if (logit_rows > cap_logit_rows_) {
    hl_.resize(static_cast<size_t>(logit_rows) * cfg_.hidden_size);
    cap_logit_rows_ = logit_rows;
  }
}

void CpuBackend::matmul(const float* x, int rows, int64_t ldx, std::initializer_list<MatJob> jobs) {
  // Work units of one panel (or 16 rows without packing), split evenly over the threads; each
  // output's accumulation order does not depend on the split.
  const int64_t unit = kern_.panel > 0 ? kern_.panel : 16;
  int64_t total = 0;
  for (const MatJob& j : jobs) total += (j.w->w.rows + unit - 1) / unit;
  // Int4 weights multiply int8 activations: the input is quantized once (its rows over the
  // threads), not once per weight and thread.
  const bool int4 = weights_ == CpuWeights::Int4 && jobs.begin()->w->packed.data;
  if (int4) {
    const int64_t K = jobs.begin()->w->w.cols;
    int4_x_.resize(rows, K);
    rows_parallel(rows, [&](int a, int e) { int4_x_.quantize(x, ldx, K, a, e); });
  }
  // One captured pointer: the closure fits std::function's inline buffer (no allocation per call).
  struct Ctx {
    const Kernels& k;
    const float* x;
    int rows;
    int64_t ldx, unit, total;
    std::initializer_list<MatJob> jobs;
    const Int4Rows* int4_x;
  } c{kern_, x, rows, ldx, unit, total, jobs, int4 ? &int4_x_ : nullptr};
  pool_.run([&c](int i, int n) {
    const int64_t lo = c.total * i / n, hi = c.total * (i + 1) / n;
    int64_t base = 0;
    for (const MatJob& j : c.jobs) {
      const int64_t out = j.w->w.rows, units = (out + c.unit - 1) / c.unit;
      const int64_t u0 = std::max(lo, base), u1 = std::min(hi, base + units);
      if (u0 < u1) {
        const int64_t r0 = (u0 - base) * c.unit, r1 = std::min(out, (u1 - base) * c.unit);
        if (c.int4_x)
          gemm_int4_rows(*c.int4_x, c.rows, j.w->packed, r0, r1, j.y + r0, out);
        else if (j.w->packed.data)
          c.k.gemm_packed(c.x, c.rows, c.ldx, j.w->packed, r0, r1, j.y + r0, out);
        else
          c.k.gemm(c.x, c.rows, c.ldx, j.w->w, r0, r1, j.y + r0, out);
      }
      base += units;
    }
  });
}

void CpuBackend::forward(const ForwardBatch& b, float* logits) {
  validate(b);
  const int T = b.num_tokens();
  const int L = static_cast<int>(b.logits_indices.size());
  ensure_scratch(T, L);
  const int hidden = cfg_.hidden_size, H = cfg_.num_heads, KV = cfg_.num_kv_heads, hd = cfg_.head_dim;
  const int64_t qd = static_cast<int64_t>(H) * hd, kvd = static_cast<int64_t>(KV) * hd;
  const int64_t ffn = cfg_.intermediate_size;

  for (int s = 0; s < b.num_seqs(); ++s)
    for (int t = b.query_start_loc[s]; t < b.query_start_loc[s + 1]; ++t) token_seq_[t] = s;

  // Embeddings.
  const size_t esz = dtype_size(embed_.dtype);
  for (int t = 0; t < T; ++t)
    kern_.to_f32(embed_.dtype, static_cast<const char*>(embed_.data) + static_cast<size_t>(b.token_ids[t]) * hidden * esz,
                 x_.data() + static_cast<int64_t>(t) * hidden, hidden);

  // RoPE angles, shared by all layers: float32 position * inv_freq, as Hugging Face computes them.
  rope_tables(b.positions.data(), T, inv_freq_.data(), hd / 2, cos_.data(), sin_.data());

  const float eps = cfg_.rms_norm_eps;
  AttentionShape shape{H, KV, hd, 1.0f / std::sqrt(static_cast<float>(hd))};
  const int half = hd / 2;
  float *x = x_.data(), *h = h_.data(), *tmp = tmp_.data(), *q = q_.data(), *k = k_.data(), *v = v_.data();
  // Row-wise and element-wise ops run split over the pool threads, fused between GEMMs; each
  // row's arithmetic is the same whatever the split (results do not depend on it).
  rows_parallel(T, [&](int a, int e) { rmsnorm_rows(x + a * hidden, layers_[0].attn_norm.data(), h + a * hidden, e - a, hidden, eps); });
  for (int l = 0; l < cfg_.num_layers; ++l) {
    const Layer& w = layers_[l];
    matmul(h, T, hidden, {{&w.wq, q}, {&w.wk, k}, {&w.wv, v}});
    float* kc = k_cache_[l].get();
    float* vc = v_cache_[l].get();
    rows_parallel(T, [&](int a, int e) {
      apply_rope(q + a * qd, e - a, H, hd, cos_.data() + a * half, sin_.data() + a * half);
      apply_rope(k + a * kvd, e - a, KV, hd, cos_.data() + a * half, sin_.data() + a * half);
      for (int t = a; t < e; ++t) {
        const int64_t slot = b.slot_mapping[t];
        std::memcpy(kc + slot * kvd, k + t * kvd, sizeof(float) * kvd);
        std::memcpy(vc + slot * kvd, v + t * kvd, sizeof(float) * kvd);
      }
    });
    paged_attention(b, token_seq_, shape, KvLayerView{kc, vc}, q, attn_.data(), kern_, pool_, attn_scratch_);
    matmul(attn_.data(), T, qd, {{&w.wo, tmp}});
    rows_parallel(T, [&](int a, int e) {
      add_inplace(x + a * hidden, tmp + a * hidden, static_cast<int64_t>(e - a) * hidden);
      rmsnorm_rows(x + a * hidden, w.mlp_norm.data(), h + a * hidden, e - a, hidden, eps);
    });
    matmul(h, T, hidden, {{&w.w_gate, gate_.data()}, {&w.w_up, up_.data()}});
    // SwiGLU element-wise over all T * ffn values, split in equal parts.
    const int64_t n = static_cast<int64_t>(T) * ffn;
    rows_parallel(pool_.size(), [&](int a, int e) {
      const int64_t lo = n * a / pool_.size(), hi = n * e / pool_.size();
      swiglu(gate_.data() + lo, up_.data() + lo, hi - lo);
    });
    matmul(gate_.data(), T, ffn, {{&w.w_down, tmp}});
    const float* next_norm = l + 1 < cfg_.num_layers ? layers_[l + 1].attn_norm.data() : nullptr;
    rows_parallel(T, [&](int a, int e) {
      add_inplace(x + a * hidden, tmp + a * hidden, static_cast<int64_t>(e - a) * hidden);
      if (next_norm) rmsnorm_rows(x + a * hidden, next_norm, h + a * hidden, e - a, hidden, eps);
    });
  }

  if (L == 0) return;
  for (int j = 0; j < L; ++j)
    rmsnorm_rows(x_.data() + static_cast<int64_t>(b.logits_indices[j]) * hidden, final_norm_.data(),
                 hl_.data() + static_cast<int64_t>(j) * hidden, 1, hidden, eps);
  matmul(hl_.data(), L, hidden, {{&lm_head_, logits}});
}

}  // namespace cpu

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const Model> model, int threads, CpuWeights weights) {
  if (!model) throw Error("make_cpu_backend: no model");
  return std::make_unique<cpu::CpuBackend>(std::move(model), threads, weights);
}

}  // namespace llm
