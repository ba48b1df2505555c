#include "runtime/sampling_pool.h"

#include <algorithm>

namespace llm {

int default_sampling_threads() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores - 1, 0, 7);
}

SamplingPool::SamplingPool(int vocab_size, int threads, size_t min_elements)
    : vocab_(vocab_size), min_elements_(min_elements), parts_(std::max(threads, 0) + 1) {
  samplers_.reserve(static_cast<size_t>(std::max(threads, 0)) + 1);
  for (int i = 0; i <= std::max(threads, 0); ++i) samplers_.emplace_back(vocab_size);
  for (int i = 0; i < threads; ++i) helpers_.emplace_back([this, i] { helper(i); });
}

SamplingPool::~SamplingPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void SamplingPool::run_part(std::vector<Job>& jobs, int part, int parts, Sampler& sampler) {
  const size_t n = jobs.size();
  const size_t begin = n * part / parts, end = n * (part + 1) / parts;
  for (size_t i = begin; i < end; ++i) {
    Job& j = jobs[i];
    j.token = sampler.sample(j.logits, j.ctx, &j.logprob);
  }
}

void SamplingPool::run(std::vector<Job>& jobs) {
  const int parts = parts_;
  if (parts == 1 || jobs.size() < 2 || jobs.size() * static_cast<size_t>(vocab_) < min_elements_) {
    run_part(jobs, 0, 1, samplers_[0]);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_ = &jobs;
    busy_ = parts - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  run_part(jobs, 0, parts, samplers_[0]);
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return busy_ == 0; });
  jobs_ = nullptr;
}

void SamplingPool::helper(int index) {
  uint64_t seen = 0;
  const int parts = parts_;  // not helpers_.size(): the constructor may still be filling it
  while (true) {
    std::vector<Job>* jobs;
    {
      std::unique_lock<std::mutex> lk(mu_);
      start_cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      jobs = jobs_;
    }
    run_part(*jobs, index + 1, parts, samplers_[static_cast<size_t>(index) + 1]);
    {
      std::lock_guard<std::mutex> lk(mu_);
      --busy_;
    }
    done_cv_.notify_one();
  }
}

}  // namespace llm
