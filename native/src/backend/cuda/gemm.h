// Y[M, N] (f32) = X[M, K] (f32, row-major) * W[N, K]^T (bf16, row-major: a PyTorch Linear weight).
// Small M (decode) uses our bandwidth-bound kernel (f32 activations, each weight row read once
// for all M rows); larger M splits X into bf16 hi + lo parts and runs two bf16 GEMMs (cuBLAS when
// it could be loaded at run time, else our tensor-core tiled kernel), so the activations keep
// ~16 mantissa bits instead of bf16's 8 (LLM_CUDA_SPLIT_ACTIVATIONS=0 trades that for one pass).
#pragma once

#include <string>

#include "backend/cuda/ops.h"

namespace llm {
namespace cuda {

enum class GemmPath { Auto, Skinny, Tiled, Cublas };

class Gemm {
 public:
  Gemm();
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Binds to a stream; creates the cuBLAS handle when libcublas could be loaded.
  void init(cudaStream_t stream);
  bool has_cublas() const { return handle_ != nullptr; }
  // Bumped whenever a buffer of its own moves (CUDA graphs that captured it must be dropped).
  uint64_t generation() const { return generation_; }
  // GEMMs that ran stacked (for tests).
  int64_t stacked_runs() const { return stacked_runs_; }
  const std::string& cublas_status() const { return cublas_status_; }

  // Pre-allocates the hi/lo split buffer for GEMMs of up to `elems` = M * K activations.
  void reserve(size_t elems);
  // Pre-allocates the [2M, N] f32 scratch that lets a hi/lo GEMM with 2 * M * N <= `floats` (and
  // M <= kStackedMaxM) run as one GEMM over [hi; lo] stacked along M. Without it, two GEMMs.
  void reserve_stacked(size_t floats);

  void run(const float* x, const bf16_t* w, float* y, int m, int n, int k,
           GemmPath path = GemmPath::Auto);

 private:
  void bf16_gemm(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k, bool accumulate, bool cublas);

  cudaStream_t stream_ = nullptr;
  void* handle_ = nullptr;
  void* workspace_ = nullptr;  // cuBLAS workspace (graph capture must not allocate)
  bf16_t* split_ = nullptr;  // [2, M, K] hi/lo parts
  bool split_activations_ = true;  // LLM_CUDA_SPLIT_ACTIVATIONS=0: single bf16 pass
  size_t split_cap_ = 0;
  float* stacked_ = nullptr;  // [2M, N]: x_hi W^T over x_lo W^T, summed into y
  size_t stacked_cap_ = 0;
  uint64_t generation_ = 0;
  int64_t stacked_runs_ = 0;
  std::string cublas_status_ = "not initialised";
};

// Largest M for which Auto picks the skinny kernel.
constexpr int kSkinnyMaxM = 8;
// Largest M whose hi/lo GEMM may be stacked into one (the scratch is reserved for it). Stacking
// saves one read of the weights (2 N K bytes) and costs 8 M N bytes more of f32 output traffic
// (a [2M, N] result, read again to sum), so it runs only while 4 M < K: decode batches.
constexpr int kStackedMaxM = 512;

// The raw kernels, for tests.
void gemm_skinny(const float* x, const bf16_t* w, float* y, int m, int n, int k, cudaStream_t stream);
// y = x w^T, or y += x w^T when accumulate.
void gemm_tiled(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k, bool accumulate,
                cudaStream_t stream);

}  // namespace cuda
}  // namespace llm
