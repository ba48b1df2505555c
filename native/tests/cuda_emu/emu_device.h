// CUDA emulator (tests only): the device side of the CUDA language for kernels compiled by g++.
// A launch runs its blocks one after another; the threads of a block are fibers on one OS thread,
// switched only at __syncthreads, __syncwarp and warp shuffles, so barrier and shuffle semantics
// hold (a barrier no thread can pass, or a full-warp shuffle with a lane gone, is reported and
// aborts). `__shared__` is a thread_local static: one copy per OS thread, shared by the fibers of
// the block it runs. The .cu sources are compiled as they are, except that the build rewrites
// `kernel<<<grid, block, shmem, stream>>>(args)` into `kernel / ::emu::config("kernel", grid,
// block, shmem, stream)(args)` (cuda_emu/rewrite_launches.cmake).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "include/cuda_runtime_api.h"

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

namespace emu {

const uint3& thread_idx();
const uint3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();
void sync_block();
void sync_warp(unsigned mask);
// Warp exchange: every lane of the warp in `mask` (all 32 here) publishes `value` and reads the
// value published by `src_lane`.
uint64_t exchange(unsigned mask, uint64_t value, int src_lane);
int lane_id();

// Runs `body` once per thread of every block (or records it while `stream` is being captured).
void launch(const char* name, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            std::function<void()> body);

template <class... A>
struct PendingLaunch {
  const char* name;
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
  std::tuple<A...> args;
};

struct LaunchConfig {
  const char* name;
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
  template <class... A>
  PendingLaunch<std::decay_t<A>...> operator()(A&&... args) const {
    return {name, grid, block, shared_bytes, stream, std::tuple<std::decay_t<A>...>(std::forward<A>(args)...)};
  }
};

inline LaunchConfig config(const char* name, dim3 grid, dim3 block, size_t shared_bytes = 0,
                           cudaStream_t stream = nullptr) {
  return {name, grid, block, shared_bytes, stream};
}

// `kernel / config(...)(args)`: the arguments are converted to the kernel's parameter types once,
// at the launch, and kept by value (as CUDA copies them into the launch, or into a graph node).
template <class... P, class... A>
void operator/(void (*kernel)(P...), PendingLaunch<A...>&& pending) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
  std::tuple<std::decay_t<P>...> args = std::apply(
      [](auto&&... a) { return std::tuple<std::decay_t<P>...>(std::forward<decltype(a)>(a)...); },
      std::move(pending.args));
  launch(pending.name, pending.grid, pending.block, pending.shared_bytes, pending.stream,
         [kernel, args]() { std::apply(kernel, args); });
}

}  // namespace emu

#define threadIdx (::emu::thread_idx())
#define blockIdx (::emu::block_idx())
#define blockDim (::emu::block_dim())
#define gridDim (::emu::grid_dim())

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

inline void __syncthreads() { ::emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::emu::sync_warp(mask); }

template <class T>
inline T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a register-sized value");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  const int lane = ::emu::lane_id();
  const int src = (lane & ~(width - 1)) | ((lane ^ lane_mask) & (width - 1));
  bits = ::emu::exchange(mask, bits, src);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

template <class T>
inline T __ldg(const T* p) {
  return *p;
}

inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, 4);
  return i;
}

// Correctly rounded single operations (the emulated build uses -ffp-contract=off, so no FMA).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __expf(float x) { return std::exp(x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
using std::isfinite;
using std::isnan;
