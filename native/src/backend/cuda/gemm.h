// Y[M, N] (f32) = X[M, K] (bf16, row-major) * W[N, K]^T (bf16, row-major: a PyTorch Linear weight).
// Small M (decode) uses our bandwidth-bound kernel (each weight row read once for all M rows);
// larger M uses cuBLAS when it could be loaded at run time, else our tensor-core tiled kernel.
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
  const std::string& cublas_status() const { return cublas_status_; }

  void run(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k,
           GemmPath path = GemmPath::Auto);

 private:
  cudaStream_t stream_ = nullptr;
  void* handle_ = nullptr;
  std::string cublas_status_ = "not initialised";
};

// Largest M for which Auto picks the skinny kernel.
constexpr int kSkinnyMaxM = 8;

// The raw kernels, for tests.
void gemm_skinny(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k, cudaStream_t stream);
void gemm_tiled(const bf16_t* x, const bf16_t* w, float* y, int m, int n, int k, cudaStream_t stream);

}  // namespace cuda
}  // namespace llm
