#include "runtime/seed_source.h"

#include <atomic>
#include <chrono>
#include <random>

#include "sampling/rng.h"

namespace llm {

namespace {

uint64_t entropy_base() {
  std::random_device rd;
  uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
               static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return Rng::splitmix64(x);
}

}  // namespace

uint64_t next_request_seed() {
  static const uint64_t base = entropy_base();
  static std::atomic<uint64_t> counter{0};
  // splitmix64 is a bijection of its input: distinct counters give distinct seeds.
  uint64_t x = base + counter.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15ULL;
  return Rng::splitmix64(x);
}

}  // namespace llm
