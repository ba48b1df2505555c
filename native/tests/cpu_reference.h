// A naive float64 Llama forward (contiguous, causal, one sequence) written straight from the
// Hugging Face modeling code, to check the CPU backend against; and helpers to build ForwardBatch
// steps over a shuffled paged KV layout.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#include "model/model.h"

namespace ref {

inline std::vector<double> to_double(const llm::TensorView& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    const char* p = static_cast<const char*>(t.data);
    switch (t.dtype) {
      case llm::DType::F32: {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        out[i] = f;
        break;
      }
      case llm::DType::BF16: {
        uint16_t b;
        std::memcpy(&b, p + 2 * i, 2);
        out[i] = llm::cpu::bf16_to_f32(b);
        break;
      }
      case llm::DType::F16: {
        uint16_t b;
        std::memcpy(&b, p + 2 * i, 2);
        out[i] = llm::cpu::f16_to_f32(b);
        break;
      }
      case llm::DType::I8:
      case llm::DType::I4: throw std::runtime_error("ref::to_double: I8 / I4 are never stored tensors");
    }
  }
  return out;
}

// Hugging Face's default + llama3 inverse frequencies in float64.
inline std::vector<double> inv_freq(const llm::ModelConfig& c) {
  std::vector<double> f(c.head_dim / 2);
  for (int i = 0; i < c.head_dim / 2; ++i) {
    double x = 1.0 / std::pow(static_cast<double>(c.rope_theta), 2.0 * i / c.head_dim);
    if (c.rope_scaling.enabled) {
      const auto& s = c.rope_scaling;
      const double old = s.original_max_position_embeddings;
      const double lo = old / s.low_freq_factor, hi = old / s.high_freq_factor;
      const double wl = 2 * M_PI / x;
      if (wl > lo) {
        x = x / s.factor;
      } else if (wl >= hi) {
        const double sm = (old / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        x = (1 - sm) * x / s.factor + sm * x;
      }
    }
    f[i] = x;
  }
  return f;
}

// y[o] = sum_k W[o][k] x[k]
inline void linear(const std::vector<double>& W, const std::vector<double>& x, size_t out, std::vector<double>& y) {
  const size_t in = x.size();
  y.assign(out, 0.0);
  for (size_t o = 0; o < out; ++o) {
    double s = 0;
    for (size_t k = 0; k < in; ++k) s += W[o * in + k] * x[k];
    y[o] = s;
  }
}

inline std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double r = 1.0 / std::sqrt(ss / x.size() + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = w[i] * x[i] * r;
  return y;
}

// Final-normed hidden states of every position of `tokens` (tokens.size() x hidden), row-major:
// what the lm_head multiplies, and what an embed request returns for its last token.
inline std::vector<double> final_hidden(const llm::Model& model, const std::vector<int32_t>& tokens) {
  const llm::ModelConfig& c = model.config();
  const llm::ModelWeights& mw = model.weights();
  const size_t Hd = c.hidden_size, H = c.num_heads, KV = c.num_kv_heads, hd = c.head_dim, F = c.intermediate_size;
  const size_t T = tokens.size();
  const std::vector<double> freqs = inv_freq(c);
  const std::vector<double> emb = to_double(mw.embed);
  std::vector<std::vector<double>> x(T);
  for (size_t t = 0; t < T; ++t) x[t].assign(emb.begin() + tokens[t] * Hd, emb.begin() + (tokens[t] + 1) * Hd);

  auto rope = [&](std::vector<double>& v, size_t heads, size_t pos) {
    for (size_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < hd / 2; ++i) {
        const double a = pos * freqs[i], co = std::cos(a), si = std::sin(a);
        double& x1 = v[h * hd + i];
        double& x2 = v[h * hd + i + hd / 2];
        const double n1 = x1 * co - x2 * si, n2 = x2 * co + x1 * si;
        x1 = n1;
        x2 = n2;
      }
  };

  for (const llm::LayerWeights& lw : mw.layers) {
    const auto an = to_double(lw.attn_norm), mn = to_double(lw.mlp_norm);
    const auto wq = to_double(lw.wq), wk = to_double(lw.wk), wv = to_double(lw.wv), wo = to_double(lw.wo);
    const auto wg = to_double(lw.w_gate), wu = to_double(lw.w_up), wd = to_double(lw.w_down);
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      auto h = rmsnorm(x[t], an, c.rms_norm_eps);
      linear(wq, h, H * hd, q[t]);
      linear(wk, h, KV * hd, k[t]);
      linear(wv, h, KV * hd, v[t]);
      rope(q[t], H, t);
      rope(k[t], KV, t);
    }
    for (size_t t = 0; t < T; ++t) {
      std::vector<double> attn(H * hd, 0.0);
      for (size_t h = 0; h < H; ++h) {
        const size_t g = h / (H / KV);
        std::vector<double> s(t + 1);
        double mx = -1e300;
        for (size_t p = 0; p <= t; ++p) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[p][g * hd + i];
          s[p] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[p]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t p = 0; p <= t; ++p)
          for (size_t i = 0; i < hd; ++i) attn[h * hd + i] += s[p] / sum * v[p][g * hd + i];
      }
      std::vector<double> o;
      linear(wo, attn, Hd, o);
      for (size_t i = 0; i < Hd; ++i) x[t][i] += o[i];
      auto h = rmsnorm(x[t], mn, c.rms_norm_eps);
      std::vector<double> g, u, d;
      linear(wg, h, F, g);
      linear(wu, h, F, u);
      for (size_t i = 0; i < F; ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      linear(wd, g, Hd, d);
      for (size_t i = 0; i < Hd; ++i) x[t][i] += d[i];
    }
  }
  const auto fn = to_double(mw.final_norm);
  std::vector<double> out(T * Hd);
  for (size_t t = 0; t < T; ++t) {
    const auto h = rmsnorm(x[t], fn, c.rms_norm_eps);
    std::copy(h.begin(), h.end(), out.begin() + t * Hd);
  }
  return out;
}

// Logits of every position of `tokens` (tokens.size() x vocab), row-major.
inline std::vector<double> forward(const llm::Model& model, const std::vector<int32_t>& tokens) {
  const size_t Hd = model.config().hidden_size, V = model.config().vocab_size, T = tokens.size();
  const std::vector<double> hidden = final_hidden(model, tokens), lm = to_double(model.weights().lm_head);
  std::vector<double> logits(T * V);
  for (size_t t = 0; t < T; ++t) {
    std::vector<double> l;
    linear(lm, std::vector<double>(hidden.begin() + t * Hd, hidden.begin() + (t + 1) * Hd), V, l);
    std::copy(l.begin(), l.end(), logits.begin() + t * V);
  }
  return logits;
}

// Paged layout bookkeeping for tests: each sequence owns blocks drawn from a shuffled free list.
struct PagedSeqs {
  int block_size;
  std::vector<int32_t> free_blocks;
  std::vector<std::vector<int32_t>> blocks;  // per sequence
  std::vector<int32_t> lens;                 // tokens already in the cache

  PagedSeqs(int num_blocks, int bs, int num_seqs, uint64_t seed) : block_size(bs), blocks(num_seqs), lens(num_seqs, 0) {
    free_blocks.resize(num_blocks);
    std::iota(free_blocks.begin(), free_blocks.end(), 0);
    std::mt19937_64 rng(seed);
    std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
  }

  struct Part {
    int seq;
    std::vector<int32_t> tokens;
    bool all_logits;  // logits of every token, else only the last
  };

  // Builds one step from parts (each appends its tokens to its sequence).
  llm::ForwardBatch step(const std::vector<Part>& parts) {
    llm::ForwardBatch b;
    b.block_size = block_size;
    int max_blocks = 1;
    for (const Part& p : parts) {
      const int len = lens[p.seq] + static_cast<int>(p.tokens.size());
      while (static_cast<int>(blocks[p.seq].size()) * block_size < len) {
        blocks[p.seq].push_back(free_blocks.back());
        free_blocks.pop_back();
      }
      max_blocks = std::max(max_blocks, static_cast<int>(blocks[p.seq].size()));
    }
    b.max_blocks_per_seq = max_blocks;
    b.query_start_loc.push_back(0);
    for (const Part& p : parts) {
      for (size_t i = 0; i < p.tokens.size(); ++i) {
        const int pos = lens[p.seq] + static_cast<int>(i);
        if (p.all_logits || i + 1 == p.tokens.size()) b.logits_indices.push_back(b.num_tokens());
        b.token_ids.push_back(p.tokens[i]);
        b.positions.push_back(pos);
        b.slot_mapping.push_back(blocks[p.seq][pos / block_size] * block_size + pos % block_size);
      }
      lens[p.seq] += static_cast<int>(p.tokens.size());
      b.query_start_loc.push_back(b.num_tokens());
      b.seq_lens.push_back(lens[p.seq]);
      for (int i = 0; i < max_blocks; ++i)
        b.block_tables.push_back(i < static_cast<int>(blocks[p.seq].size()) ? blocks[p.seq][i] : -1);
    }
    return b;
  }
};

}  // namespace ref
