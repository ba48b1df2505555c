// CUDA emulator (tests only): the fault handler (see fault_handler.h).
#include "fault_handler.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "block_runner.h"

namespace emu {

namespace {

void on_fault(int sig, siginfo_t* info, void*) {
  char where[256];
  const char* kernel = running_kernel_description(where, sizeof where);
  char msg[512];
  const int n = std::snprintf(msg, sizeof msg,
                              "cuda emulator: %s touched %p, outside every allocation (or overflowed its stack)\n",
                              kernel ? kernel : "host code (not a kernel)", info->si_addr);
  if (n > 0) (void)!write(2, msg, static_cast<size_t>(n));
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void install_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
  });
  // The handler runs on its own stack: a fiber stack overflow leaves none to run on.
  thread_local std::unique_ptr<char[]> alt;
  if (!alt) {
    const size_t bytes = 64 << 10;
    alt.reset(new char[bytes]);
    stack_t ss{};
    ss.ss_sp = alt.get();
    ss.ss_size = bytes;
    sigaltstack(&ss, nullptr);
  }
}

}  // namespace emu
