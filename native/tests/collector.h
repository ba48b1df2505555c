// Collects engine events per request id (thread-safe) and waits for requests to finish.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "llm/engine.h"

struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<llm::TokenLogprob> logprobs;
  std::vector<llm::TokenLogprob> prompt_logprobs;
  std::vector<float> embedding;
  bool finished = false;
  llm::FinishReason reason = llm::FinishReason::None;
  std::string error;
  int prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0;
  llm::RequestTimings timings;
  int finish_order = -1;
  int events = 0;
};

class Collector {
 public:
  llm::EventSink sink() {
    return [this](std::vector<llm::RequestEvent>&& evs) {
      std::lock_guard<std::mutex> lk(mu_);
      ++batches_;
      for (auto& e : evs) {
        Outcome& o = out_[e.id];
        ++o.events;
        if (o.finished) {
          ++events_after_finish_;
          continue;
        }
        o.tokens.insert(o.tokens.end(), e.new_tokens.begin(), e.new_tokens.end());
        o.logprobs.insert(o.logprobs.end(), e.logprobs.begin(), e.logprobs.end());
        o.prompt_logprobs.insert(o.prompt_logprobs.end(), e.prompt_logprobs.begin(), e.prompt_logprobs.end());
        if (!e.embedding.empty()) o.embedding = e.embedding;
        if (e.finished) {
          o.finished = true;
          o.reason = e.reason;
          o.error = e.error;
          o.prompt_tokens = e.prompt_tokens;
          o.cached_prompt_tokens = e.cached_prompt_tokens;
          o.generated_tokens = e.generated_tokens;
          o.timings = e.timings;
          o.finish_order = finished_++;
        }
      }
      cv_.notify_all();
    };
  }

  bool wait_finished(int count, int timeout_ms = 60000) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return finished_ >= count; });
  }

  bool wait_tokens(const std::string& id, size_t n, int timeout_ms = 60000) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                        [&] { return out_[id].tokens.size() >= n || out_[id].finished; });
  }

  Outcome get(const std::string& id) {
    std::lock_guard<std::mutex> lk(mu_);
    return out_[id];
  }
  int finished() {
    std::lock_guard<std::mutex> lk(mu_);
    return finished_;
  }
  int events_after_finish() {
    std::lock_guard<std::mutex> lk(mu_);
    return events_after_finish_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Outcome> out_;
  int finished_ = 0;
  int batches_ = 0;
  int events_after_finish_ = 0;
};

// A greedy request that ignores EOS, so its length is exactly max_tokens.
inline llm::RequestSpec greedy(const std::string& id, std::vector<int32_t> prompt, int max_tokens,
                               int priority = 0) {
  llm::RequestSpec r;
  r.id = id;
  r.prompt_tokens = std::move(prompt);
  r.sampling.temperature = 0;
  r.sampling.max_tokens = max_tokens;
  r.sampling.ignore_eos = true;
  r.priority = priority;
  return r;
}
