// CUDA emulator (tests only): a SIGSEGV / SIGBUS handler that names the kernel, block and thread
// that touched memory outside every allocation (or overflowed its fiber stack), then dies by the
// signal as before.
#pragma once

namespace emu {

// Installs the handler once per process and an alternate signal stack once per thread.
void install_fault_handler();

}  // namespace emu
