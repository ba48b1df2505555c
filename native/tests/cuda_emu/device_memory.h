// CUDA emulator (tests only): device and pinned host allocations. Each is its own mapping,
// filled with 0xff bytes (NaN as f32 and bf16, -1 as int: a kernel that reads what nothing wrote
// shows it) and placed so that its end (rounded up to 256 bytes) meets a PROT_NONE page, so a
// kernel that reads or writes past it faults (fault_handler.h names the kernel). Not thread-safe:
// the runtime holds its lock around every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "include/cuda_runtime_api.h"

namespace emu {

// cudaSuccess, or the error a CUDA call returns and why.
struct MemoryError {
  cudaError_t code = cudaSuccess;
  std::string why;
};

class DeviceMemory {
 public:
  explicit DeviceMemory(size_t total_bytes) : total_bytes_(total_bytes) {}
  MemoryError allocate(void** ptr, size_t bytes, bool pinned_host);
  MemoryError release(void* ptr, bool pinned_host);
  // Whether [p, p + bytes) lies inside one device (not pinned host) allocation.
  bool device_range(const void* p, size_t bytes) const;
  // Checks a copy's ranges against its kind: device sides inside one device allocation, host
  // sides not device memory.
  MemoryError check_copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) const;
  size_t total_bytes() const { return total_bytes_; }
  size_t device_bytes() const { return device_bytes_; }

 private:
  struct Allocation {
    char* map = nullptr;
    size_t map_bytes = 0;
    size_t bytes = 0;
    bool pinned_host = false;
  };
  const Allocation* find(const void* p, size_t bytes) const;

  std::map<uintptr_t, Allocation> allocations_;  // by start address
  size_t total_bytes_;
  size_t device_bytes_ = 0;
};

}  // namespace emu
