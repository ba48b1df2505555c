#include "backend/cuda/op_timer.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "backend/cuda/ops.h"

namespace llm {
namespace cuda {

const char* OpTimer::name(int op) {
  static const char* const kNames[kNumOps] = {"upload",     "embedding", "rmsnorm",   "qkv_gemm", "rope_kv_write",
                                              "attention",  "o_gemm",    "gate_up_gemm", "swiglu", "down_gemm",
                                              "lm_head",    "sample",    "copy_back"};
  return op >= 0 && op < kNumOps ? kNames[op] : "?";
}

OpTimer::OpTimer() {
  const char* env = std::getenv("LLM_CUDA_OP_TIMING");
  enabled_ = env && std::string(env) == "1";
}

OpTimer::~OpTimer() {
  for (cudaEvent_t e : pool_) cudaEventDestroy(e);
}

cudaEvent_t OpTimer::next_event() {
  if (used_ == pool_.size()) {
    cudaEvent_t e = nullptr;
    check(cudaEventCreate(&e), "cudaEventCreate (op timing)");
    pool_.push_back(e);
  }
  return pool_[used_++];
}

void OpTimer::begin(cudaStream_t stream) {
  if (!enabled_) return;
  used_ = 0;
  ops_.clear();
  ops_.push_back(-1);
  check(cudaEventRecord(next_event(), stream), "cudaEventRecord (op timing)");
}

void OpTimer::mark(Op op, cudaStream_t stream) {
  if (!enabled_ || used_ == 0) return;
  ops_.push_back(op);
  check(cudaEventRecord(next_event(), stream), "cudaEventRecord (op timing)");
}

void OpTimer::end() {
  if (!enabled_ || used_ == 0) return;
  for (size_t i = 1; i < used_; ++i) {
    float ms = 0;
    if (cudaEventElapsedTime(&ms, pool_[i - 1], pool_[i]) == cudaSuccess) totals_[ops_[i]] += ms;
  }
  cudaGetLastError();
  used_ = 0;
  ++steps_;
}

void OpTimer::reset() {
  for (double& t : totals_) t = 0;
  steps_ = 0;
}

}  // namespace cuda
}  // namespace llm
