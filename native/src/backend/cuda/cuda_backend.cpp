// CudaBackend: weight upload, workspace and KV cache sizing, and the per-step forward pass.
#include "backend/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "llm/error.h"

namespace llm {

namespace cuda {

namespace {

constexpr size_t kScratchBytes = 64ull << 20;       // split-attention partials
constexpr size_t kReserveBytes = 512ull << 20;      // cuBLAS workspace, allocator slack

int default_cap_tokens() {
  const char* env = std::getenv("LLM_CUDA_MAX_TOKENS");
  if (env && *env) {
    const int v = std::atoi(env);
    if (v > 0) return v;
  }
  return 2048;
}

void to_bf16(const TensorView& t, bf16_t* dst) {
  const size_t n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
    case DType::BF16:
      std::memcpy(dst, t.data, n * 2);
      return;
    case DType::F32: {
      const float* src = static_cast<const float*>(t.data);
      for (size_t i = 0; i < n; ++i) dst[i] = float_to_bf16_host(src[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* src = static_cast<const uint16_t*>(t.data);
      for (size_t i = 0; i < n; ++i) {
        const uint32_t h = src[i];
        const uint32_t sign = (h & 0x8000u) << 16;
        const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        float f;
        if (exp == 0) {
          f = std::ldexp(static_cast<float>(man), -24);
          if (sign) f = -f;
        } else {
          const uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (man << 13))
                                          : (sign | ((exp + 112) << 23) | (man << 13));
          std::memcpy(&f, &bits, 4);
        }
        dst[i] = float_to_bf16_host(f);
      }
      return;
    }
    case DType::I8:
    case DType::I4: break;
  }
  throw Error("CUDA backend: tensor " + t.name + " has an unsupported dtype");
}

}  // namespace

CudaBackend::CudaBackend(std::shared_ptr<const Model> model, int device)
    : model_(std::move(model)), cfg_(model_->config()), device_(device) {
  const ModelConfig& c = cfg_;
  if (c.head_dim % 8 != 0 || c.head_dim > 256)
    throw Error("CUDA backend: head_dim " + std::to_string(c.head_dim) +
                " unsupported (must be a multiple of 8, at most 256)");
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0 || c.num_heads / c.num_kv_heads > 8)
    throw Error("CUDA backend: num_heads / num_kv_heads must be an integer of at most 8");
  check(cudaSetDevice(device_), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  gemm_.init(stream_);

  try {
    const ModelWeights& w = model_->weights();
    embed_ = upload({&w.embed}, "embed_tokens");
    final_norm_ = upload({&w.final_norm}, "norm");
    lm_head_ = (c.tie_word_embeddings || w.lm_head.data == w.embed.data) ? embed_ : upload({&w.lm_head}, "lm_head");
    layers_.resize(w.layers.size());
    for (size_t l = 0; l < w.layers.size(); ++l) {
      const LayerWeights& lw = w.layers[l];
      Layer& L = layers_[l];
      L.attn_norm = upload({&lw.attn_norm}, "input_layernorm");
      L.wqkv = upload({&lw.wq, &lw.wk, &lw.wv}, "qkv_proj");
      L.wo = upload({&lw.wo}, "o_proj");
      L.mlp_norm = upload({&lw.mlp_norm}, "post_attention_layernorm");
      L.w_gate_up = upload({&lw.w_gate, &lw.w_up}, "gate_up_proj");
      L.w_down = upload({&lw.w_down}, "down_proj");
    }
    const std::vector<float> inv = rope_inv_freq(c);
    inv_freq_ = static_cast<float*>(device_alloc(inv.size() * sizeof(float), "inv_freq"));
    check(cudaMemcpy(inv_freq_, inv.data(), inv.size() * sizeof(float), cudaMemcpyHostToDevice),
          "upload inv_freq");
    ensure_workspace(default_cap_tokens());
  } catch (...) {
    free_workspace();
    for (void* p : weight_allocs_) cudaFree(p);
    cudaStreamDestroy(stream_);
    throw;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, device_);
  description_ = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) +
                 "), weights " + std::to_string(weight_bytes_ >> 20) + " MiB bf16; " + gemm_.cublas_status();
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  graphs_.clear();
  free_workspace();
  if (host_logits_) cudaFreeHost(host_logits_);
  if (tokens_dev_) cudaFree(tokens_dev_);
  if (tokens_host_) cudaFreeHost(tokens_host_);
  if (logprobs_dev_) cudaFree(logprobs_dev_);
  if (logprobs_host_) cudaFreeHost(logprobs_host_);
  if (edits_dev_) cudaFree(edits_dev_);
  if (edits_host_) cudaFreeHost(edits_host_);
  if (kv_alloc_) cudaFree(kv_alloc_);
  for (void* p : weight_allocs_) cudaFree(p);
  if (stream_) cudaStreamDestroy(stream_);
}

void* CudaBackend::device_alloc(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, std::max<size_t>(bytes, 16));
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw Error(std::string("CUDA backend: cannot allocate ") + std::to_string(bytes >> 20) + " MiB for " +
                what + ": " + cudaGetErrorString(err));
  }
  weight_allocs_.push_back(p);
  return p;
}

bf16_t* CudaBackend::upload(const std::vector<const TensorView*>& parts, const char* what) {
  size_t total = 0;
  for (const TensorView* t : parts) {
    if (!t->data) throw Error(std::string("CUDA backend: tensor for ") + what + " is missing");
    total += static_cast<size_t>(t->numel());
  }
  bf16_t* dev = static_cast<bf16_t*>(device_alloc(total * 2, what));
  weight_bytes_ += total * 2;
  size_t off = 0;
  for (const TensorView* t : parts) {
    const size_t n = static_cast<size_t>(t->numel());
    if (t->dtype == DType::BF16) {
      check(cudaMemcpy(dev + off, t->data, n * 2, cudaMemcpyHostToDevice), what);
    } else {
      std::vector<bf16_t> tmp(n);
      to_bf16(*t, tmp.data());
      check(cudaMemcpy(dev + off, tmp.data(), n * 2, cudaMemcpyHostToDevice), what);
    }
    off += n;
  }
  return dev;
}

void CudaBackend::free_workspace() {
  void* ptrs[] = {resid_, normed_, qkv_, q_, attn_, proj_, gate_up_, act_, rows_, logits_dev_, scratch_, meta_dev_};
  for (void* p : ptrs)
    if (p) cudaFree(p);
  if (meta_host_) cudaFreeHost(meta_host_);
  resid_ = nullptr; normed_ = nullptr; qkv_ = nullptr; q_ = nullptr; attn_ = nullptr; proj_ = nullptr;
  gate_up_ = nullptr; act_ = nullptr; rows_ = nullptr; logits_dev_ = nullptr; scratch_ = nullptr;
  meta_dev_ = nullptr; meta_host_ = nullptr;
  cap_tokens_ = 0;
  meta_cap_ = 0;
}

void CudaBackend::ensure_workspace(int num_tokens) {
  if (num_tokens <= cap_tokens_) return;
  check(cudaStreamSynchronize(stream_), "sync before workspace growth");
  graphs_.clear();
  free_workspace();
  const int T = std::max(num_tokens, 16);
  const ModelConfig& c = cfg_;
  const size_t h = c.hidden_size, qd = static_cast<size_t>(c.num_heads) * c.head_dim;
  const size_t qkv = static_cast<size_t>(c.num_heads + 2 * c.num_kv_heads) * c.head_dim;
  const size_t f = c.intermediate_size;
  auto alloc = [&](size_t bytes, const char* what) {
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, std::max<size_t>(bytes, 16));
    if (err != cudaSuccess) {
      cudaGetLastError();
      throw Error(std::string("CUDA backend: cannot allocate workspace ") + what + " (" +
                  std::to_string(bytes >> 20) + " MiB): " + cudaGetErrorString(err));
    }
    return p;
  };
  resid_ = static_cast<float*>(alloc(T * h * 4, "residual"));
  normed_ = static_cast<float*>(alloc(T * h * 4, "normed"));
  qkv_ = static_cast<float*>(alloc(T * qkv * 4, "qkv"));
  q_ = static_cast<float*>(alloc(T * qd * 4, "q"));
  attn_ = static_cast<float*>(alloc(T * qd * 4, "attn"));
  proj_ = static_cast<float*>(alloc(T * h * 4, "proj"));
  gate_up_ = static_cast<float*>(alloc(T * 2 * f * 4, "gate_up"));
  act_ = static_cast<float*>(alloc(T * f * 4, "act"));
  rows_ = static_cast<float*>(alloc(static_cast<size_t>(kLogitChunk) * h * 4, "logit rows"));
  logits_dev_ = static_cast<float*>(alloc(static_cast<size_t>(kLogitChunk) * c.vocab_size * 4, "logits"));
  scratch_floats_ = kScratchBytes / 4;
  scratch_ = static_cast<float*>(alloc(kScratchBytes, "attention scratch"));
  ensure_meta(static_cast<size_t>(T) * 8);
  gemm_.reserve(static_cast<size_t>(T) * std::max({h, qd, f}));
  gemm_.reserve_stacked(2 * static_cast<size_t>(std::min(T, kStackedMaxM)) * std::max({h, qkv, 2 * f}));
  cap_tokens_ = T;
}

size_t CudaBackend::kv_block_bytes(int block_size) const {
  return 2ull * cfg_.num_layers * block_size * cfg_.num_kv_heads * cfg_.head_dim * 2;
}

size_t CudaBackend::available_kv_bytes(double fraction) const {
  if (!(fraction > 0.0) || fraction > 1.0) throw Error("kv cache fraction must be in (0, 1]");
  cudaSetDevice(device_);
  size_t free_b = 0, total_b = 0;
  check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  // Weights and the peak-size workspace are already allocated, so `used` counts them.
  const double used = static_cast<double>(total_b - free_b);
  const double budget = static_cast<double>(total_b) * fraction - used - static_cast<double>(kReserveBytes);
  const double cap = static_cast<double>(free_b) - static_cast<double>(kReserveBytes);
  const double v = std::min(budget, cap);
  return v > 0 ? static_cast<size_t>(v) : 0;
}

void CudaBackend::init_kv_cache(int num_blocks, int block_size) {
  if (num_blocks <= 0 || block_size <= 0) throw Error("init_kv_cache: num_blocks and block_size must be > 0");
  check(cudaSetDevice(device_), "cudaSetDevice");
  graphs_.clear();
  if (kv_alloc_) {
    cudaStreamSynchronize(stream_);
    cudaFree(kv_alloc_);
    kv_alloc_ = nullptr;
  }
  const size_t per_layer = static_cast<size_t>(num_blocks) * block_size * cfg_.num_kv_heads * cfg_.head_dim;
  const size_t bytes = per_layer * 2 * 2 * layers_.size();
  const cudaError_t err = cudaMalloc(&kv_alloc_, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    kv_alloc_ = nullptr;
    throw Error("init_kv_cache: cannot allocate " + std::to_string(bytes >> 20) + " MiB: " + cudaGetErrorString(err));
  }
  bf16_t* base = static_cast<bf16_t*>(kv_alloc_);
  for (size_t l = 0; l < layers_.size(); ++l) {
    layers_[l].k_cache = base + (2 * l) * per_layer;
    layers_[l].v_cache = base + (2 * l + 1) * per_layer;
  }
  num_blocks_ = num_blocks;
  block_size_ = block_size;
}

void CudaBackend::validate(const ForwardBatch& b) const {
  const int T = b.num_tokens(), S = b.num_seqs();
  if (!kv_alloc_) throw Error("CUDA backend: forward() before init_kv_cache()");
  if (T <= 0 || S <= 0) throw Error("CUDA backend: empty batch");
  if (b.block_size != block_size_)
    throw Error("CUDA backend: batch block_size " + std::to_string(b.block_size) + " != cache block_size " +
                std::to_string(block_size_));
  if (static_cast<int>(b.positions.size()) != T || static_cast<int>(b.slot_mapping.size()) != T)
    throw Error("CUDA backend: positions/slot_mapping must have one entry per token");
  if (static_cast<int>(b.query_start_loc.size()) != S + 1 || b.query_start_loc[0] != 0 || b.query_start_loc[S] != T)
    throw Error("CUDA backend: query_start_loc must have num_seqs + 1 entries from 0 to num_tokens");
  if (b.max_blocks_per_seq <= 0 || b.block_tables.size() != static_cast<size_t>(S) * b.max_blocks_per_seq)
    throw Error("CUDA backend: block_tables must be num_seqs x max_blocks_per_seq");
  const int64_t slots = static_cast<int64_t>(num_blocks_) * block_size_;
  for (int s = 0; s < S; ++s) {
    if (b.query_start_loc[s + 1] < b.query_start_loc[s]) throw Error("CUDA backend: query_start_loc not sorted");
    const int needed_blocks = (b.seq_lens[s] + block_size_ - 1) / block_size_;
    if (needed_blocks > b.max_blocks_per_seq) throw Error("CUDA backend: seq_len exceeds its block table");
    for (int i = 0; i < needed_blocks; ++i) {
      const int blk = b.block_tables[static_cast<size_t>(s) * b.max_blocks_per_seq + i];
      if (blk < 0 || blk >= num_blocks_) throw Error("CUDA backend: block table entry out of range");
    }
    for (int t = b.query_start_loc[s]; t < b.query_start_loc[s + 1]; ++t)
      if (b.positions[t] < 0 || b.positions[t] >= b.seq_lens[s])
        throw Error("CUDA backend: token position outside its sequence length");
  }
  for (int t = 0; t < T; ++t)
    if (b.slot_mapping[t] >= slots) throw Error("CUDA backend: slot_mapping entry out of range");
  for (int32_t r : b.logits_indices)
    if (r < 0 || r >= T) throw Error("CUDA backend: logits index out of range");
  for (int32_t r : b.hidden_indices)
    if (r < 0 || r >= T) throw Error("CUDA backend: hidden index out of range");
}

}  // namespace cuda

bool cuda_device_available(std::string* reason) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (reason)
      *reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(err) + " (" +
                cudaGetErrorString(err) + ")" +
                (err == cudaErrorInsufficientDriver ? "; no usable NVIDIA driver on this machine" : "");
    return false;
  }
  if (count <= 0) {
    if (reason) *reason = "no CUDA device found";
    return false;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess && prop.major < 8) {
    if (reason)
      *reason = std::string("GPU ") + prop.name + " has compute capability " + std::to_string(prop.major) + "." +
                std::to_string(prop.minor) + "; the CUDA backend needs 8.0 or newer (bf16)";
    return false;
  }
  if (reason) *reason = std::to_string(count) + " CUDA device(s); device 0: " + prop.name;
  return true;
}

std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const Model> model, int device) {
  if (!model) throw Error("make_cuda_backend: no model");
  return std::make_unique<cuda::CudaBackend>(std::move(model), device);
}

}  // namespace llm
