// CUDA emulator (tests only): device and pinned host allocations (see device_memory.h).
#include "device_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace emu {

const DeviceMemory::Allocation* DeviceMemory::find(const void* p, size_t bytes) const {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  auto it = allocations_.upper_bound(addr);
  if (it == allocations_.begin()) return nullptr;
  --it;
  if (addr + bytes > it->first + it->second.bytes) return nullptr;
  return &it->second;
}

bool DeviceMemory::device_range(const void* p, size_t bytes) const {
  const Allocation* a = find(p, bytes);
  return a && !a->pinned_host;
}

MemoryError DeviceMemory::allocate(void** ptr, size_t bytes, bool pinned_host) {
  if (!ptr) return {cudaErrorInvalidValue, "null pointer argument"};
  *ptr = nullptr;
  if (bytes == 0) return {};
  if (!pinned_host && device_bytes_ + bytes > total_bytes_)
    return {cudaErrorMemoryAllocation, "out of emulated device memory (" + std::to_string(bytes >> 20) +
                                           " MiB asked, " + std::to_string((total_bytes_ - device_bytes_) >> 20) +
                                           " MiB free)"};
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t rounded = (bytes + 255) / 256 * 256;
  const size_t map_bytes = (rounded + page - 1) / page * page + page;
  void* map = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) return {cudaErrorMemoryAllocation, "mmap failed"};
  char* base = static_cast<char*>(map);
  mprotect(base + map_bytes - page, page, PROT_NONE);
  char* user = base + map_bytes - page - rounded;
  std::memset(user, 0xff, rounded);
  allocations_[reinterpret_cast<uintptr_t>(user)] = {base, map_bytes, bytes, pinned_host};
  if (!pinned_host) device_bytes_ += bytes;
  *ptr = user;
  return {};
}

MemoryError DeviceMemory::release(void* ptr, bool pinned_host) {
  if (!ptr) return {};
  auto it = allocations_.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == allocations_.end())
    return {cudaErrorInvalidDevicePointer, "not the start of a live allocation (double or foreign free)"};
  if (it->second.pinned_host != pinned_host)
    return {cudaErrorInvalidValue,
            pinned_host ? "device memory passed to cudaFreeHost" : "pinned host memory passed to cudaFree"};
  if (!pinned_host) device_bytes_ -= it->second.bytes;
  munmap(it->second.map, it->second.map_bytes);
  allocations_.erase(it);
  return {};
}

MemoryError DeviceMemory::check_copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) const {
  if (count == 0) return {};
  if (!dst || !src) return {cudaErrorInvalidValue, "null pointer"};
  if (kind == cudaMemcpyDefault) return {};
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return {cudaErrorInvalidMemcpyDirection, "bad direction"};
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (dst_dev && !device_range(dst, count))
    return {cudaErrorInvalidValue, "destination range is not inside one device allocation"};
  if (src_dev && !device_range(src, count))
    return {cudaErrorInvalidValue, "source range is not inside one device allocation"};
  if (!dst_dev && device_range(dst, 0)) return {cudaErrorInvalidValue, "destination is device memory, kind says host"};
  if (!src_dev && device_range(src, 0)) return {cudaErrorInvalidValue, "source is device memory, kind says host"};
  return {};
}

}  // namespace emu
