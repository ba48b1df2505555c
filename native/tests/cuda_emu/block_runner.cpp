// CUDA emulator (tests only): runs a kernel's grid, one block after another, each block's threads
// as fibers. A fiber runs until it reaches a barrier (__syncthreads, or the warp barriers inside
// __syncwarp and shuffles) or ends; a barrier opens when every thread of the block (or warp) that
// has not exited has reached it, as on sm_70+. A round in which no fiber can run is a deadlock
// (a barrier some threads never reach): reported with where each thread waits, then abort().
#include "block_runner.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fibers.h"

namespace emu {

namespace {

constexpr int kMaxThreads = 1024;
constexpr size_t kStackBytes = 64 << 10;

struct Fiber {
  Context ctx;
  std::unique_ptr<FiberStack> stack;
  uint3 tid{};
  int lane = 0, warp = 0;
  bool done = false;
  const uint64_t* wait_gen = nullptr;  // runnable again once *wait_gen != wait_val
  uint64_t wait_val = 0;
  const char* wait_what = nullptr;
};

// A shuffle needs one barrier: it writes vals[gen & 1] and reads it after the barrier. A lane
// writes that half again only two shuffles later, after every lane has passed the barrier in
// between, so after every lane has read it.
struct WarpState {
  int live = 0, arrived = 0;
  uint64_t gen = 0;
  uint64_t vals[2][32] = {};
};

// One per OS thread: the block it is running.
struct Runner {
  std::vector<Fiber> fibers;
  Context scheduler;
  Fiber* current = nullptr;
  const std::function<void()>* body = nullptr;
  const char* kernel = nullptr;
  uint3 block{};
  dim3 block_dim, grid_dim;
  int threads = 0, live = 0, block_arrived = 0;
  uint64_t block_gen = 0;
  uint64_t resumes = 0;  // fibers resumed (a scheduler round without one is a deadlock)
  // LLM_CUDA_EMU_ORDER=reverse runs the threads last to first: a thread that reads what another
  // writes without a barrier in between then reads it unwritten in one of the two orders.
  bool reverse = false;
  Runner() {
    const char* order = std::getenv("LLM_CUDA_EMU_ORDER");
    reverse = order && std::strcmp(order, "reverse") == 0;
  }
  WarpState warps[kMaxThreads / 32];
  bool running = false;
};

// The runner of this OS thread (a plain pointer: no TLS init guard on the hot path), owned by
// `runner_owner`, which frees it and its fiber stacks when the thread ends.
thread_local Runner* this_runner = nullptr;
thread_local std::unique_ptr<Runner> runner_owner;

[[noreturn]] void fault(const char* fmt, ...) {
  const Runner& r = *this_runner;  // only called while a kernel runs
  std::fprintf(stderr, "cuda emulator: kernel %s, block (%u,%u,%u)", r.kernel ? r.kernel : "?", r.block.x, r.block.y,
               r.block.z);
  if (r.current)
    std::fprintf(stderr, ", thread (%u,%u,%u)", r.current->tid.x, r.current->tid.y, r.current->tid.z);
  std::fprintf(stderr, ": ");
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  std::abort();
}

Fiber& current_fiber() {
  if (!this_runner || !this_runner->running || !this_runner->current) {
    std::fprintf(stderr, "cuda emulator: a device function was called outside a kernel\n");
    std::abort();
  }
  return *this_runner->current;
}

bool runnable(const Fiber& f) { return !f.done && !(f.wait_gen && *f.wait_gen == f.wait_val); }

void resume(Context& from, Fiber& to) {
  Runner& r = *this_runner;
  to.wait_gen = nullptr;
  r.current = &to;
  ++r.resumes;
  switch_context(from, to.ctx);
}

void wait_for_change(const uint64_t* gen, const char* what) {
  Runner& r = *this_runner;
  Fiber& f = *r.current;
  f.wait_gen = gen;
  f.wait_val = *gen;
  f.wait_what = what;
  // Hand over to the next lane of this warp that can run: a shuffle then costs one switch per
  // lane instead of two through the scheduler.
  const int self = static_cast<int>(&f - r.fibers.data());
  const int warp_begin = f.warp * 32, warp_end = std::min(r.threads, warp_begin + 32);
  const int step = r.reverse ? -1 : 1;
  for (int i = self + step; i >= warp_begin && i < warp_end; i += step)
    if (runnable(r.fibers[i])) {
      resume(f.ctx, r.fibers[i]);
      return;
    }
  switch_context(f.ctx, r.scheduler);
}

void open_block_barrier_if_complete() {
  Runner& r = *this_runner;
  if (r.block_arrived > 0 && r.block_arrived == r.live) {
    r.block_arrived = 0;
    ++r.block_gen;
  }
}

void open_warp_barrier_if_complete(WarpState& w) {
  if (w.arrived > 0 && w.arrived == w.live) {
    w.arrived = 0;
    ++w.gen;
  }
}

void warp_barrier(const char* what) {
  Fiber& f = current_fiber();
  WarpState& w = this_runner->warps[f.warp];
  ++w.arrived;
  const uint64_t gen = w.gen;
  open_warp_barrier_if_complete(w);
  if (w.gen == gen) wait_for_change(&w.gen, what);
}

void fiber_main() {
  Runner& r = *this_runner;
  (*r.body)();
  Fiber& f = *r.current;
  f.done = true;
  --r.live;
  WarpState& w = r.warps[f.warp];
  --w.live;
  if (w.arrived > 0) fault("exited while other lanes of its warp wait in a shuffle or __syncwarp");
  open_block_barrier_if_complete();
  switch_context(f.ctx, r.scheduler);  // never resumed
  std::abort();
}

void report_deadlock() {
  Runner& r = *this_runner;
  std::fprintf(stderr, "cuda emulator: kernel %s, block (%u,%u,%u): deadlock, %d of %d threads wait:\n", r.kernel,
               r.block.x, r.block.y, r.block.z, r.live, r.threads);
  // One line per run of consecutive threads waiting at the same place.
  for (int i = 0; i < r.threads;) {
    const Fiber& f = r.fibers[i];
    int j = i + 1;
    while (j < r.threads && r.fibers[j].done == f.done && r.fibers[j].wait_what == f.wait_what) ++j;
    if (!f.done) std::fprintf(stderr, "  threads %d-%d (linear) in %s\n", i, j - 1, f.wait_what ? f.wait_what : "?");
    i = j;
  }
  std::fflush(stderr);
  std::abort();
}

void run_block() {
  Runner& r = *this_runner;
  r.live = r.threads;
  r.block_arrived = 0;
  r.block_gen = 0;
  for (int w = 0; w < (r.threads + 31) / 32; ++w) {
    r.warps[w] = WarpState{};
    r.warps[w].live = std::min(32, r.threads - w * 32);
  }
  for (int i = 0; i < r.threads; ++i) {
    Fiber& f = r.fibers[i];
    const unsigned bx = r.block_dim.x, by = r.block_dim.y;
    f.tid = {i % bx, (i / bx) % by, i / (bx * by)};
    f.lane = i % 32;
    f.warp = i / 32;
    f.done = false;
    f.wait_gen = nullptr;
    f.wait_what = nullptr;
    make_context(f.ctx, *f.stack, &fiber_main);
  }
  while (r.live > 0) {
    const uint64_t before = r.resumes;
    for (int k = 0; k < r.threads; ++k) {
      const int i = r.reverse ? r.threads - 1 - k : k;
      if (runnable(r.fibers[i])) resume(r.scheduler, r.fibers[i]);
    }
    r.current = nullptr;
    if (r.resumes == before) report_deadlock();
  }
}

}  // namespace

const uint3& thread_idx() { return current_fiber().tid; }
const uint3& block_idx() {
  current_fiber();
  return this_runner->block;
}
const dim3& block_dim() {
  current_fiber();
  return this_runner->block_dim;
}
const dim3& grid_dim() {
  current_fiber();
  return this_runner->grid_dim;
}
int lane_id() { return current_fiber().lane; }

void sync_block() {
  current_fiber();
  Runner& r = *this_runner;
  ++r.block_arrived;
  const uint64_t gen = r.block_gen;
  open_block_barrier_if_complete();
  if (r.block_gen == gen) wait_for_change(&r.block_gen, "__syncthreads");
}

void sync_warp(unsigned mask) {
  const Fiber& f = current_fiber();
  if (mask != 0xffffffffu) fault("__syncwarp with a partial mask (0x%08x) is not emulated", mask);
  if (this_runner->warps[f.warp].live != 32) fault("__syncwarp(full mask) in a warp without 32 live lanes");
  warp_barrier("__syncwarp");
}

uint64_t exchange(unsigned mask, uint64_t value, int src_lane) {
  const Fiber& f = current_fiber();
  WarpState& w = this_runner->warps[f.warp];
  if (mask != 0xffffffffu) fault("a shuffle with a partial mask (0x%08x) is not emulated", mask);
  if (w.live != 32) fault("a full-mask shuffle in a warp without 32 live lanes (%d)", w.live);
  if (src_lane < 0 || src_lane > 31) fault("shuffle from lane %d", src_lane);
  const int half = static_cast<int>(w.gen & 1);
  w.vals[half][f.lane] = value;
  warp_barrier("a warp shuffle");
  return w.vals[half][src_lane];
}

const char* launch_config_error(dim3 grid, dim3 block) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > kMaxThreads || block.z > 64) return "block has no threads or more than 1024";
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || grid.x > 0x7fffffffu)
    return "grid dimensions out of range (x < 2^31, y and z <= 65535, none 0)";
  return nullptr;
}

const char* run_grid(const char* name, dim3 grid, dim3 block, const std::function<void()>& body) {
  if (!this_runner) {
    runner_owner = std::make_unique<Runner>();
    this_runner = runner_owner.get();
  }
  Runner& r = *this_runner;
  if (r.running) return "a kernel launched from inside a kernel (dynamic parallelism is not emulated)";
  const int threads = static_cast<int>(block.x * block.y * block.z);
  while (static_cast<int>(r.fibers.size()) < threads) {
    r.fibers.emplace_back();
    r.fibers.back().stack = std::make_unique<FiberStack>(kStackBytes);
  }
  r.running = true;
  r.kernel = name;
  r.body = &body;
  r.threads = threads;
  r.block_dim = block;
  r.grid_dim = grid;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        r.block = {x, y, z};
        run_block();
      }
  r.running = false;
  r.kernel = nullptr;
  r.body = nullptr;
  return nullptr;
}

const char* running_kernel_description(char* buf, size_t len) {
  if (!this_runner || !this_runner->running) return nullptr;
  const Runner& r = *this_runner;
  if (r.current)
    std::snprintf(buf, len, "kernel %s, block (%u,%u,%u), thread (%u,%u,%u)", r.kernel, r.block.x, r.block.y,
                  r.block.z, r.current->tid.x, r.current->tid.y, r.current->tid.z);
  else
    std::snprintf(buf, len, "kernel %s, block (%u,%u,%u)", r.kernel, r.block.x, r.block.y, r.block.z);
  return buf;
}

}  // namespace emu
