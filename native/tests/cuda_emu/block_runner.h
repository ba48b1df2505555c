// CUDA emulator (tests only): executes one kernel launch on the calling OS thread.
#pragma once

#include <cstddef>
#include <functional>

#include "emu_device.h"

namespace emu {

// Why CUDA would refuse this launch configuration, or nullptr.
const char* launch_config_error(dim3 grid, dim3 block);

// Runs `body` for every thread of every block (a configuration launch_config_error accepts).
// Returns nullptr, or why the launch is invalid (nothing ran). Faults inside the kernel
// (deadlock, bad shuffle) are reported and abort().
const char* run_grid(const char* name, dim3 grid, dim3 block, const std::function<void()>& body);

// "kernel K, block (..), thread (..)" while a kernel runs on this thread, else nullptr.
const char* running_kernel_description(char* buf, size_t len);

}  // namespace emu
