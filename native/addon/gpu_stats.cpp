// addon.gpuStats() -> [{ index, name, utilizationPercent?, memoryUsedBytes?, memoryTotalBytes?,
// temperatureCelsius?, powerWatts?, eccCorrected?, eccUncorrected? }] from NVML (dlopen'ed at
// first call). [] without NVML, driver or device; a value NVML cannot read is left out.
// addon.gpuInfo() -> { available: boolean, reason: string } says why the list is empty.
#include "gpu_stats.h"

#include "runtime/nvml.h"

namespace addon {

Napi::Value GpuStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<llm::GpuStat> stats = llm::Nvml::shared().read();
  Napi::Array out = Napi::Array::New(env, stats.size());
  for (size_t i = 0; i < stats.size(); ++i) {
    const llm::GpuStat& s = stats[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", s.index);
    o.Set("name", s.name);
    if (s.utilization_percent) o.Set("utilizationPercent", *s.utilization_percent);
    if (s.memory_used_bytes) o.Set("memoryUsedBytes", static_cast<double>(*s.memory_used_bytes));
    if (s.memory_total_bytes) o.Set("memoryTotalBytes", static_cast<double>(*s.memory_total_bytes));
    if (s.temperature_celsius) o.Set("temperatureCelsius", *s.temperature_celsius);
    if (s.power_watts) o.Set("powerWatts", *s.power_watts);
    if (s.ecc_corrected) o.Set("eccCorrected", static_cast<double>(*s.ecc_corrected));
    if (s.ecc_uncorrected) o.Set("eccUncorrected", static_cast<double>(*s.ecc_uncorrected));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value GpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const llm::Nvml& nvml = llm::Nvml::shared();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", nvml.available());
  o.Set("reason", nvml.reason());
  return o;
}

}  // namespace addon
