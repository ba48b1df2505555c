// Wraps a backend so a test can hold the engine inside one forward() while it queues requests:
// everything queued meanwhile reaches the scheduler in the same step, however loaded the machine
// is. Without it, tests of scheduling order depend on how fast the test thread runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "backend/backend.h"

namespace testing_support {

class Gate {
 public:
  void close() {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = false;
  }
  void open() {
    std::lock_guard<std::mutex> lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // True once a forward() waits at the closed gate.
  bool wait_held(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return held_; });
  }
  void pass() {
    std::unique_lock<std::mutex> lk(mu_);
    if (open_) return;
    held_ = true;
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
    held_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  bool held_ = false;
};

class GatedBackend final : public llm::Backend {
 public:
  GatedBackend(std::unique_ptr<llm::Backend> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}

  std::string name() const override { return inner_->name(); }
  size_t kv_block_bytes(int block_size) const override { return inner_->kv_block_bytes(block_size); }
  size_t available_kv_bytes(double fraction) const override { return inner_->available_kv_bytes(fraction); }
  void init_kv_cache(int num_blocks, int block_size) override { inner_->init_kv_cache(num_blocks, block_size); }
  void forward(const llm::ForwardBatch& batch, float* logits) override {
    gate_->pass();
    inner_->forward(batch, logits);
  }

 private:
  std::unique_ptr<llm::Backend> inner_;
  std::shared_ptr<Gate> gate_;
};

}  // namespace testing_support
