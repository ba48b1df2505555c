// GPU time per op of the steps a CudaBackend runs, from CUDA events recorded between launches.
// On with LLM_CUDA_OP_TIMING=1 (engine-bench --op-timing); steps then skip CUDA graphs, so the
// figures show where an eager step's time goes.
#pragma once

#include <cstdint>
#include <vector>

#include <cuda_runtime_api.h>

namespace llm {
namespace cuda {

class OpTimer {
 public:
  enum Op { Upload, Embed, Norm, QkvGemm, RopeKv, Attention, OGemm, GateUpGemm, SwiGlu, DownGemm, LmHead, Sample, CopyBack, kNumOps };
  static const char* name(int op);

  OpTimer();
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

  bool enabled() const { return enabled_; }
  // A step's first event; then mark(op) after each op's launches: the GPU time since the
  // previous event is op's. end() once the stream has synced adds the step's times.
  void begin(cudaStream_t stream);
  void mark(Op op, cudaStream_t stream);
  void end();

  double total_ms(int op) const { return totals_[op]; }
  int64_t steps() const { return steps_; }
  void reset();

 private:
  cudaEvent_t next_event();

  bool enabled_ = false;
  std::vector<cudaEvent_t> pool_;
  std::vector<int> ops_;  // ops_[i]: the op that ends at event i (ops_[0] unused)
  size_t used_ = 0;
  double totals_[kNumOps] = {};
  int64_t steps_ = 0;
};

}  // namespace cuda
}  // namespace llm
