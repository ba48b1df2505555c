// GPU readings through NVML, loaded at run time with dlopen("libnvidia-ml.so.1"): nothing links
// against the driver, so the engine builds and runs on hosts without one. Without the library,
// without a driver or without a device, read() returns an empty list (never fake zeros), and
// each value NVML cannot read for a device stays unset.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llm {

struct GpuStat {
  unsigned index = 0;
  std::string name;
  std::optional<unsigned> utilization_percent;  // 0..100
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<unsigned> temperature_celsius;
  std::optional<double> power_watts;
  std::optional<uint64_t> ecc_corrected;    // volatile (since driver load)
  std::optional<uint64_t> ecc_uncorrected;  // volatile (since driver load)
};

class Nvml {
 public:
  // Loads `library` and calls nvmlInit_v2. Never throws: failures leave available() false.
  explicit Nvml(const char* library = "libnvidia-ml.so.1");
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  bool available() const { return available_; }
  // Why NVML is unavailable ("" when it is available).
  const std::string& reason() const { return reason_; }
  // One entry per device NVML can open; empty when unavailable. Thread-safe.
  std::vector<GpuStat> read() const;

  // The process-wide instance over libnvidia-ml.so.1 (loaded on first use).
  static const Nvml& shared();

 private:
  struct Api;
  std::unique_ptr<Api> api_;
  void* handle_ = nullptr;
  bool available_ = false;
  std::string reason_;
};

}  // namespace llm
