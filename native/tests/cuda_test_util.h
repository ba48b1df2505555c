// Helpers for the CUDA tests: device buffers, bf16 host conversion, random data, relative error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "backend/backend.h"
#include "backend/cuda/ops.h"
#include "testing.h"

namespace cudatest {

using llm::cuda::bf16_t;

// Skips the test (SKIP) unless a usable GPU answers.
inline void require_gpu() {
  std::string reason;
  if (!llm::cuda_device_available(&reason)) SKIP("no usable GPU: " + reason);
}

template <typename T>
struct DeviceBuf {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceBuf(size_t count) : n(count) {
    llm::cuda::check(cudaMalloc(reinterpret_cast<void**>(&ptr), std::max<size_t>(count, 1) * sizeof(T)), "test cudaMalloc");
    // Poison: 0xff bytes are NaN for floats and bf16, -1 for ints.
    llm::cuda::check(cudaMemset(ptr, 0xff, std::max<size_t>(count, 1) * sizeof(T)), "test memset");
  }
  explicit DeviceBuf(const std::vector<T>& host) : DeviceBuf(host.size()) { upload(host); }
  ~DeviceBuf() { cudaFree(ptr); }
  DeviceBuf(const DeviceBuf&) = delete;
  DeviceBuf& operator=(const DeviceBuf&) = delete;
  void upload(const std::vector<T>& host) {
    llm::cuda::check(cudaMemcpy(ptr, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  std::vector<T> download() const {
    std::vector<T> host(n);
    llm::cuda::check(cudaDeviceSynchronize(), "sync before download");
    llm::cuda::check(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
    return host;
  }
};

inline float b2f(bf16_t b) { return llm::cuda::bf16_to_float_host(b); }
inline bf16_t f2b(float f) { return llm::cuda::float_to_bf16_host(f); }

inline std::vector<bf16_t> random_bf16(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<bf16_t> v(n);
  for (auto& x : v) x = f2b(d(rng));
  return v;
}
inline std::vector<float> random_f32(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}
inline std::vector<float> to_float(const std::vector<bf16_t>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = b2f(v[i]);
  return out;
}

// ||out - ref|| / ||ref||; NaN (or any non-finite output) gives +inf.
inline double rel_error(const std::vector<float>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Prints a one-line result (the gpu-check log greps "OPCHECK") and records a failure if over tol.
#define EXPECT_REL(name, out, ref, tol)                                                                   \
  do {                                                                                                    \
    const double llm_err_ = ::cudatest::rel_error((out), (ref));                                          \
    std::fprintf(stderr, "  OPCHECK %-40s rel_err %.3e (tol %.0e) %s\n", std::string(name).c_str(),       \
                 llm_err_, static_cast<double>(tol), llm_err_ <= (tol) ? "ok" : "FAIL");                  \
    EXPECT(llm_err_ <= (tol));                                                                            \
  } while (0)

}  // namespace cudatest
