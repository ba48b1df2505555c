#include "backend/cuda/decode_graphs.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <exception>

#include "backend/cuda/ops.h"

namespace llm {
namespace cuda {

DecodeGraphs::DecodeGraphs() {
  const char* env = std::getenv("LLM_CUDA_GRAPHS");
  enabled_ = !(env && std::string(env) == "0");
  status_ = enabled_ ? "CUDA graphs for decode steps" : "CUDA graphs off (LLM_CUDA_GRAPHS=0)";
}

DecodeGraphs::~DecodeGraphs() { clear(); }

void DecodeGraphs::clear() {
  for (auto& [key, exec] : execs_) cudaGraphExecDestroy(exec);
  execs_.clear();
  seen_.clear();
  failed_.clear();
}

void DecodeGraphs::run(uint64_t key, cudaStream_t stream, const std::function<void()>& launch) {
  if (!enabled_) {
    launch();
    return;
  }
  if (auto it = execs_.find(key); it != execs_.end()) {
    check(cudaGraphLaunch(it->second, stream), "cudaGraphLaunch");
    ++replays_;
    return;
  }
  if (seen_.insert(key).second || failed_.count(key)) {
    launch();
    return;
  }
  check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  std::string failure;
  try {
    launch();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (failure.empty() && ended != cudaSuccess)
    failure = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(ended);
  cudaGraphExec_t exec = nullptr;
  if (failure.empty()) {
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    if (made != cudaSuccess) failure = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(made);
  }
  if (graph) cudaGraphDestroy(graph);
  if (!failure.empty()) {
    cudaGetLastError();  // clear the (not sticky) error the failed capture left
    if (failed_.empty()) status_ += "; a capture failed (" + failure + "), that shape runs eagerly";
    failed_.insert(key);
    launch();
    return;
  }
  execs_.emplace(key, exec);
  check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
  ++replays_;
}

}  // namespace cuda
}  // namespace llm
