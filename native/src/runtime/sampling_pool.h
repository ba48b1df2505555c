// Host sampling of one step's rows on a few threads, each with its own Sampler. A row of Llama
// 3's vocabulary costs 0.1 ms (greedy) to 0.85 ms (top_p) on one core, so the rows of a wide step
// are worth spreading. Rows are independent (each sequence has its own Rng and context), so the
// tokens do not depend on how the rows are split.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "sampling/sampler.h"

namespace llm {

class SamplingPool {
 public:
  struct Job {
    const float* logits = nullptr;
    SampleContext ctx;
    int32_t token = -1;    // out
    TokenLogprob logprob;  // out, when ctx.params->logprobs >= 0
  };

  // `threads` helpers besides the calling thread; a step is split only when it has at least two
  // rows and rows x vocabulary >= `min_elements` (smaller ones cost less than a wake-up).
  SamplingPool(int vocab_size, int threads, size_t min_elements);
  ~SamplingPool();
  SamplingPool(const SamplingPool&) = delete;
  SamplingPool& operator=(const SamplingPool&) = delete;

  // Fills each job's token (and logprob) before returning.
  void run(std::vector<Job>& jobs);

  int threads() const { return parts_ - 1; }

 private:
  void run_part(std::vector<Job>& jobs, int part, int parts, Sampler& sampler);
  void helper(int index);

  int vocab_;
  size_t min_elements_;
  int parts_;  // helpers + the calling thread
  std::vector<Sampler> samplers_;  // [0]: the calling thread's; [i + 1]: helper i's
  std::vector<std::thread> helpers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  std::vector<Job>* jobs_ = nullptr;  // the batch being sampled, under mu_
  uint64_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
};

// Helpers for an engine on this machine: one fewer than its cores, at most 7.
int default_sampling_threads();

}  // namespace llm
