// A persistent thread pool for the CPU backend: workers are started once and woken per parallel
// region (a short spin, then a condition variable), so no op pays for spawning threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llm {
namespace cpu {

class ThreadPool {
 public:
  // `threads` workers in total, the calling thread included (>= 1).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }

  // Runs fn(thread_index, num_threads) once on every thread (the caller is index 0) and returns
  // when all are done. fn must not throw. Not reentrant.
  void run(const std::function<void(int, int)>& fn);

  // Splits [0, n) into one contiguous range per thread: fn(begin, end). Ranges are a function of
  // n and the thread count only.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker(int index);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

}  // namespace cpu
}  // namespace llm
