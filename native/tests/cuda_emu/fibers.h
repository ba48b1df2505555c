// CUDA emulator (tests only): the fibers that run the threads of one block on one OS thread.
#pragma once

#include <cstddef>

namespace emu {

class FiberStack {
 public:
  explicit FiberStack(size_t bytes);
  ~FiberStack();
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  void* top() const { return top_; }
  void* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  void* base_ = nullptr;  // mapping, with a PROT_NONE guard page at the bottom
  size_t size_ = 0;
  void* top_ = nullptr;
};

// A suspended context: on x86-64 its stack pointer (the callee-saved registers are on its stack),
// elsewhere a ucontext_t.
struct Context {
  void* sp = nullptr;  // x86-64
  void* uc = nullptr;  // ucontext_t elsewhere
};
// Prepares `ctx` to start `entry()` on `stack` when first switched to.
void make_context(Context& ctx, FiberStack& stack, void (*entry)());
// Saves the running context into `from` and resumes `to`.
void switch_context(Context& from, Context& to);

}  // namespace emu
