// CudaBackend's per-step work: staging the step metadata, the layers, lm_head and sampling on
// the GPU, and the copies back; pure-decode steps of forward_step() go through a CUDA graph.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/sample_rows.h"
#include "sampling/row_edits.h"
#include "llm/error.h"

namespace llm {
namespace cuda {

bool CudaBackend::graph_shape(const ForwardBatch& b, StepShape* shape, uint64_t* key) const {
  if (!graphs_.enabled() || op_timer_.enabled()) return false;
  DecodeGraphLimits lim;
  lim.max_batch = kLogitChunk;
  lim.min_context = kAttentionPartition;
  lim.partition = kAttentionPartition;
  lim.scratch_floats = scratch_floats_;
  lim.split_floats_per_token = attention_scratch_floats(1, cfg_.num_heads, cfg_.head_dim, 1);
  return decode_graph_shape(b, block_size_, lim, shape, key);
}

void CudaBackend::ensure_meta(size_t words) {
  if (words <= meta_cap_) return;
  check(cudaStreamSynchronize(stream_), "sync before step metadata growth");
  graphs_.clear();
  cudaFree(meta_dev_);
  cudaFreeHost(meta_host_);
  meta_dev_ = nullptr;
  meta_host_ = nullptr;
  meta_cap_ = 0;  // until both allocations succeed
  const size_t cap = words + 4096;
  check(cudaMalloc(&meta_dev_, cap * 4), "cudaMalloc step metadata");
  check(cudaMallocHost(&meta_host_, cap * 4), "cudaMallocHost step metadata");
  meta_cap_ = cap;
}

void CudaBackend::ensure_token_buffers(size_t rows) {
  if (rows <= tokens_cap_) return;
  check(cudaStreamSynchronize(stream_), "sync before token buffer growth");
  graphs_.clear();
  if (tokens_dev_) cudaFree(tokens_dev_);
  if (tokens_host_) cudaFreeHost(tokens_host_);
  if (logprobs_dev_) cudaFree(logprobs_dev_);
  if (logprobs_host_) cudaFreeHost(logprobs_host_);
  tokens_dev_ = nullptr;
  tokens_host_ = nullptr;
  logprobs_dev_ = nullptr;
  logprobs_host_ = nullptr;
  tokens_cap_ = 0;
  const size_t cap = std::max<size_t>(rows, kLogitChunk);
  check(cudaMalloc(&tokens_dev_, cap * sizeof(int32_t)), "cudaMalloc sampled tokens");
  check(cudaMallocHost(&tokens_host_, cap * sizeof(int32_t)), "cudaMallocHost sampled tokens");
  check(cudaMalloc(&logprobs_dev_, cap * sizeof(RowLogprobs)), "cudaMalloc row logprobs");
  check(cudaMallocHost(&logprobs_host_, cap * sizeof(RowLogprobs)), "cudaMallocHost row logprobs");
  tokens_cap_ = cap;
}

void CudaBackend::stage_edits(const ForwardBatch& b) {
  const size_t n = b.row_edits.size();
  if (n > edits_cap_ || !edits_dev_) {
    const size_t cap = std::max({n, 2 * edits_cap_, size_t{4096}});
    check(cudaStreamSynchronize(stream_), "sync before row edits growth");
    graphs_.clear();  // they bake in the buffer's address
    if (edits_dev_) cudaFree(edits_dev_);
    if (edits_host_) cudaFreeHost(edits_host_);
    edits_dev_ = nullptr;
    edits_host_ = nullptr;
    edits_cap_ = 0;
    check(cudaMalloc(&edits_dev_, cap * sizeof(RowEdit)), "cudaMalloc row edits");
    check(cudaMallocHost(&edits_host_, cap * sizeof(RowEdit)), "cudaMallocHost row edits");
    edits_cap_ = cap;
  }
  if (n == 0) return;
  std::copy(b.row_edits.begin(), b.row_edits.end(), edits_host_);
  check(cudaMemcpyAsync(edits_dev_, edits_host_, n * sizeof(RowEdit), cudaMemcpyHostToDevice, stream_),
        "upload row edits");
}

void CudaBackend::ensure_host_logits(size_t rows) {
  if (rows <= host_logits_rows_) return;
  const size_t cap = std::max({rows, 2 * host_logits_rows_, size_t{16}});  // a ramping batch grows it a few times
  check(cudaStreamSynchronize(stream_), "sync before logits buffer growth");
  if (host_logits_) cudaFreeHost(host_logits_);
  host_logits_ = nullptr;
  host_logits_rows_ = 0;
  check(cudaMallocHost(&host_logits_, cap * cfg_.vocab_size * sizeof(float)), "cudaMallocHost logits");
  host_logits_rows_ = cap;
}

void CudaBackend::stage(const ForwardBatch& b, const StepShape& s) {
  ensure_meta(s.words());
  write_step_metadata(b, s, meta_host_);
  check(cudaMemcpyAsync(meta_dev_, meta_host_, s.words() * 4, cudaMemcpyHostToDevice, stream_), "upload step metadata");
  d_tokens_ = meta_dev_;
  d_pos_ = meta_dev_ + s.positions_at();
  d_slots_ = meta_dev_ + s.slots_at();
  d_seq_ = meta_dev_ + s.seq_at();
  d_tables_ = meta_dev_ + s.tables_at();
  d_rows_ = meta_dev_ + s.rows_at();
  d_specs_ = reinterpret_cast<const RowSampling*>(meta_dev_ + s.specs_at());
}

void CudaBackend::launch_layers(const StepShape& s) {
  const ModelConfig& c = cfg_;
  const int T = s.tokens;
  const int H = c.num_heads, KH = c.num_kv_heads, D = c.head_dim, hid = c.hidden_size, F = c.intermediate_size;
  const int qkv_dim = (H + 2 * KH) * D;
  auto done = [&](OpTimer::Op op) { op_timer_.mark(op, stream_); };
  embedding(embed_, d_tokens_, resid_, T, hid, c.vocab_size, stream_);
  done(OpTimer::Embed);

  AttentionArgs att;
  att.q = q_;
  att.token_seq = d_seq_;
  att.positions = d_pos_;
  att.block_tables = d_tables_;
  att.out = attn_;
  att.scratch = scratch_;
  att.num_tokens = T;
  att.num_heads = H;
  att.num_kv_heads = KH;
  att.head_dim = D;
  att.block_size = block_size_;
  att.max_blocks_per_seq = s.blocks_per_seq;
  att.max_context = s.max_context;
  att.max_splits = static_cast<int>(scratch_floats_ / attention_scratch_floats(T, H, D, 1));
  att.scale = 1.0f / std::sqrt(static_cast<float>(D));

  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    add_rmsnorm(resid_, l == 0 ? nullptr : proj_, L.attn_norm, normed_, T, hid, c.rms_norm_eps, stream_);
    done(OpTimer::Norm);
    gemm_.run(normed_, L.wqkv, qkv_, T, qkv_dim, hid);
    done(OpTimer::QkvGemm);
    rope_kv_write(qkv_, d_pos_, d_slots_, inv_freq_, q_, L.k_cache, L.v_cache, T, H, KH, D, stream_);
    done(OpTimer::RopeKv);
    att.k_cache = L.k_cache;
    att.v_cache = L.v_cache;
    paged_attention(att, stream_);
    done(OpTimer::Attention);
    gemm_.run(attn_, L.wo, proj_, T, hid, H * D);
    done(OpTimer::OGemm);
    add_rmsnorm(resid_, proj_, L.mlp_norm, normed_, T, hid, c.rms_norm_eps, stream_);
    done(OpTimer::Norm);
    gemm_.run(normed_, L.w_gate_up, gate_up_, T, 2 * F, hid);
    done(OpTimer::GateUpGemm);
    swiglu(gate_up_, act_, T, F, stream_);
    done(OpTimer::SwiGlu);
    gemm_.run(act_, L.w_down, proj_, T, hid, F);
    done(OpTimer::DownGemm);
  }
  add_rmsnorm(resid_, proj_, final_norm_, normed_, T, hid, c.rms_norm_eps, stream_);
  done(OpTimer::Norm);
}

void CudaBackend::launch_logits(int r0, int n, bool sample) {
  const ModelConfig& c = cfg_;
  gather_rows(normed_, d_rows_ + r0, rows_, n, c.hidden_size, stream_);
  gemm_.run(rows_, lm_head_, logits_dev_, n, c.vocab_size, c.hidden_size);
  op_timer_.mark(OpTimer::LmHead, stream_);
  if (sample) {
    sample_rows(logits_dev_, d_specs_ + r0, edits_dev_, tokens_dev_ + r0, logprobs_dev_ + r0, n, c.vocab_size,
                stream_);
    op_timer_.mark(OpTimer::Sample, stream_);
  }
}

void CudaBackend::copy_host_rows(const ForwardBatch& b, float* logits, int r0, int n, bool sampled) {
  const size_t V = static_cast<size_t>(cfg_.vocab_size);
  // Runs of consecutive rows the host samples, one copy each.
  auto on_host = [&](int i) { return !sampled || !b.row_sampling[r0 + i].sampled(); };
  for (int i = 0; i < n;) {
    if (!on_host(i)) {
      ++i;
      continue;
    }
    int j = i + 1;
    while (j < n && on_host(j)) ++j;
    check(cudaMemcpyAsync(logits + (r0 + i) * V, logits_dev_ + i * V, (j - i) * V * sizeof(float),
                          cudaMemcpyDeviceToHost, stream_),
          "copy logits");
    i = j;
  }
  op_timer_.mark(OpTimer::CopyBack, stream_);
}

void CudaBackend::run_eager(const ForwardBatch& b, float* logits, bool sample) {
  const StepShape s = exact_step_shape(b);
  ensure_workspace(s.tokens);
  ensure_token_buffers(s.rows);
  op_timer_.begin(stream_);
  stage(b, s);
  if (sample) stage_edits(b);
  op_timer_.mark(OpTimer::Upload, stream_);
  launch_layers(s);
  for (int r0 = 0; r0 < s.rows; r0 += kLogitChunk) {
    const int n = std::min(kLogitChunk, s.rows - r0);
    launch_logits(r0, n, sample);
    copy_host_rows(b, logits, r0, n, sample);
  }
}

void CudaBackend::forward(const ForwardBatch& b, float* logits) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  validate(b);
  run_eager(b, logits, false);
  check(cudaStreamSynchronize(stream_), "forward");
  op_timer_.end();
}

StepLogits CudaBackend::forward_step(const ForwardBatch& b, int vocab_size) {
  if (vocab_size != cfg_.vocab_size) throw Error("CUDA backend: forward_step vocab_size does not match the model");
  if (!b.row_sampling.empty() && b.row_sampling.size() != b.logits_indices.size())
    throw Error("CUDA backend: row_sampling must have one entry per logits index");
  validate_row_edits(b.row_sampling, b.row_edits, cfg_.vocab_size);
  check(cudaSetDevice(device_), "cudaSetDevice");
  validate(b);
  const int R = static_cast<int>(b.logits_indices.size());
  ensure_host_logits(static_cast<size_t>(R));
  const auto& rows = b.row_sampling;
  const bool sampled = std::any_of(rows.begin(), rows.end(), [](const RowSampling& r) { return r.sampled(); });
  const bool scored = std::any_of(rows.begin(), rows.end(), [](const RowSampling& r) { return r.scored(); });
  StepShape s;
  uint64_t key = 0;
  if (graph_shape(b, &s, &key)) {
    ensure_workspace(s.tokens);  // buffers first: a graph bakes their addresses in
    ensure_token_buffers(s.rows);
    stage(b, s);
    stage_edits(b);
    if (gemm_.generation() != graphs_gemm_generation_) {  // the GEMM's own buffers moved
      graphs_.clear();
      graphs_gemm_generation_ = gemm_.generation();
    }
    graphs_.run(key, stream_, [&] {
      launch_layers(s);
      launch_logits(0, s.rows, true);  // Host rows (and padding) are skipped by the kernel
    });
    copy_host_rows(b, host_logits_, 0, R, !b.row_sampling.empty());
  } else {
    run_eager(b, host_logits_, sampled);
  }
  if (sampled) {
    check(cudaMemcpyAsync(tokens_host_, tokens_dev_, R * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_),
          "copy sampled tokens");
    if (scored)
      check(cudaMemcpyAsync(logprobs_host_, logprobs_dev_, R * sizeof(RowLogprobs), cudaMemcpyDeviceToHost, stream_),
            "copy row logprobs");
    op_timer_.mark(OpTimer::CopyBack, stream_);
  }
  // Embed requests: their rows of the final norm (normed_ holds every row of the step).
  const size_t hid = static_cast<size_t>(cfg_.hidden_size);
  host_hidden_.resize(b.hidden_indices.size() * hid);
  for (size_t j = 0; j < b.hidden_indices.size(); ++j)
    check(cudaMemcpyAsync(host_hidden_.data() + j * hid, normed_ + static_cast<size_t>(b.hidden_indices[j]) * hid,
                          hid * sizeof(float), cudaMemcpyDeviceToHost, stream_),
          "copy hidden rows");
  check(cudaStreamSynchronize(stream_), "forward");
  op_timer_.end();
  StepLogits out{host_logits_, sampled ? tokens_host_ : nullptr};
  if (scored) out.logprobs = logprobs_host_;
  if (!b.hidden_indices.empty()) out.hidden = host_hidden_.data();
  return out;
}

}  // namespace cuda
}  // namespace llm
