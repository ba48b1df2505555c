// CUDA graphs of pure-decode steps. A decode step of a small model is ~170 short kernels whose
// launch cost on the host is comparable to their run time on the GPU; a graph replays them with
// one launch. One graph per step shape (the backend pads batch and context to buckets so shapes
// repeat); any buffer a graph baked in that moves must clear() them all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <cuda_runtime_api.h>

namespace llm {
namespace cuda {

class DecodeGraphs {
 public:
  // Off when LLM_CUDA_GRAPHS=0.
  DecodeGraphs();
  ~DecodeGraphs();
  DecodeGraphs(const DecodeGraphs&) = delete;
  DecodeGraphs& operator=(const DecodeGraphs&) = delete;

  bool enabled() const { return enabled_; }
  const std::string& status() const { return status_; }
  size_t captured() const { return execs_.size(); }
  int64_t replays() const { return replays_; }

  size_t failed() const { return failed_.size(); }

  // Runs `launch` (kernels only: no host sync, no allocation) on `stream` for shape `key`: the
  // first time eagerly (cuBLAS settles its own state), the second time captured into a graph,
  // then by replaying it. A shape whose capture fails runs eagerly from then on (status() says
  // why); the others keep their graphs.
  void run(uint64_t key, cudaStream_t stream, const std::function<void()>& launch);

  void clear();

 private:
  bool enabled_ = true;
  std::string status_;
  std::unordered_map<uint64_t, cudaGraphExec_t> execs_;
  std::unordered_set<uint64_t> seen_;
  std::unordered_set<uint64_t> failed_;
  int64_t replays_ = 0;
};

}  // namespace cuda
}  // namespace llm
