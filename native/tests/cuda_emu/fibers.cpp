// CUDA emulator (tests only): fiber stacks and context switches. On x86-64 a switch saves the
// callee-saved registers, MXCSR and the x87 control word on the old stack and swaps stack
// pointers (no system call, unlike swapcontext, which saves the signal mask: the emulator switches
// millions of times per test). Other architectures use ucontext.
#include "fibers.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace emu {

FiberStack::FiberStack(size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_ = (bytes + page - 1) / page * page + page;
  base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base_ == MAP_FAILED) {
    std::perror("cuda emulator: fiber stack");
    std::abort();
  }
  mprotect(base_, page, PROT_NONE);  // a kernel thread that overflows its stack faults here
  top_ = static_cast<char*>(base_) + size_;
}

FiberStack::~FiberStack() { munmap(base_, size_); }

#if defined(__x86_64__)

extern "C" void emu_switch_stack(void** save_sp, void* load_sp);
extern "C" void emu_fiber_start();

asm(R"(
  .text
  .globl emu_switch_stack
  .type emu_switch_stack,@function
emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emu_switch_stack,.-emu_switch_stack

  .globl emu_fiber_start
  .type emu_fiber_start,@function
emu_fiber_start:
  movq %r12, %rax
  callq *%rax
  ud2
  .size emu_fiber_start,.-emu_fiber_start
)");

void make_context(Context& ctx, FiberStack& stack, void (*entry)()) {
  // Stack top (16-aligned): [top-8] emu_fiber_start (popped by the first switch's `ret`, leaving
  // rsp = top, so its call to entry() sees the ABI's alignment), then rbp, rbx, r12 (= entry),
  // r13, r14, r15 and the MXCSR / x87 control word slot that the first switch restores.
  auto* top = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(stack.top()) & ~uintptr_t{15});
  uint64_t* sp = top;
  *--sp = reinterpret_cast<uint64_t>(&emu_fiber_start);
  *--sp = 0;                                      // rbp
  *--sp = 0;                                      // rbx
  *--sp = reinterpret_cast<uint64_t>(entry);      // r12
  *--sp = 0;                                      // r13
  *--sp = 0;                                      // r14
  *--sp = 0;                                      // r15
  *--sp = (uint64_t{0x037f} << 32) | 0x1f80u;    // MXCSR default, x87 control word default
  ctx.sp = sp;
}

void switch_context(Context& from, Context& to) { emu_switch_stack(&from.sp, to.sp); }

#else

void make_context(Context& ctx, FiberStack& stack, void (*entry)()) {
  auto* uc = static_cast<ucontext_t*>(ctx.uc ? ctx.uc : std::calloc(1, sizeof(ucontext_t)));
  ctx.uc = uc;
  getcontext(uc);
  uc->uc_stack.ss_sp = stack.base();
  uc->uc_stack.ss_size = stack.size();
  uc->uc_link = nullptr;
  makecontext(uc, entry, 0);
}

void switch_context(Context& from, Context& to) {
  if (!from.uc) from.uc = std::calloc(1, sizeof(ucontext_t));
  swapcontext(static_cast<ucontext_t*>(from.uc), static_cast<ucontext_t*>(to.uc));
}

#endif

}  // namespace emu
