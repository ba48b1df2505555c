#include "runtime/nvml.h"

#include <dlfcn.h>

#include <mutex>

namespace llm {
namespace {

// The subset of nvml.h used here (stable C ABI since NVML 5; no header needed at build time).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr int NVML_TEMPERATURE_GPU = 0;
constexpr int NVML_MEMORY_ERROR_TYPE_CORRECTED = 0;
constexpr int NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1;
constexpr int NVML_VOLATILE_ECC = 0;

}  // namespace

struct Nvml::Api {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*count)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*ecc)(nvmlDevice_t, int, int, unsigned long long*) = nullptr;
};

namespace {

template <typename F>
bool bind(void* handle, const char* symbol, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, symbol));
  return out != nullptr;
}

}  // namespace

Nvml::Nvml(const char* library) : api_(std::make_unique<Api>()) {
  handle_ = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* err = dlerror();
    reason_ = std::string("cannot load ") + library + (err ? std::string(": ") + err : "");
    return;
  }
  Api& a = *api_;
  const bool required = bind(handle_, "nvmlInit_v2", a.init) && bind(handle_, "nvmlShutdown", a.shutdown) &&
                        bind(handle_, "nvmlDeviceGetCount_v2", a.count) &&
                        bind(handle_, "nvmlDeviceGetHandleByIndex_v2", a.handle_by_index);
  if (!required) {
    reason_ = std::string(library) + " lacks the NVML entry points (nvmlInit_v2, ...)";
    dlclose(handle_);
    handle_ = nullptr;
    return;
  }
  // Optional readings: a missing symbol only leaves that value unset.
  bind(handle_, "nvmlErrorString", a.error_string);
  bind(handle_, "nvmlDeviceGetName", a.name);
  bind(handle_, "nvmlDeviceGetUtilizationRates", a.utilization);
  bind(handle_, "nvmlDeviceGetMemoryInfo", a.memory);
  bind(handle_, "nvmlDeviceGetTemperature", a.temperature);
  bind(handle_, "nvmlDeviceGetPowerUsage", a.power);
  bind(handle_, "nvmlDeviceGetTotalEccErrors", a.ecc);
  const nvmlReturn_t rc = a.init();
  if (rc != NVML_SUCCESS) {
    reason_ = std::string("nvmlInit failed: ") + (a.error_string ? a.error_string(rc) : std::to_string(rc));
    dlclose(handle_);
    handle_ = nullptr;
    return;
  }
  available_ = true;
}

Nvml::~Nvml() {
  if (handle_) {
    if (available_ && api_->shutdown) api_->shutdown();
    dlclose(handle_);
  }
}

std::vector<GpuStat> Nvml::read() const {
  std::vector<GpuStat> out;
  if (!available_) return out;
  const Api& a = *api_;
  unsigned int count = 0;
  if (a.count(&count) != NVML_SUCCESS) return out;
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    if (a.handle_by_index(i, &dev) != NVML_SUCCESS) continue;
    GpuStat s;
    s.index = i;
    char name[96] = {0};
    if (a.name && a.name(dev, name, sizeof(name)) == NVML_SUCCESS) s.name = name;
    nvmlUtilization_t util{};
    if (a.utilization && a.utilization(dev, &util) == NVML_SUCCESS) s.utilization_percent = util.gpu;
    nvmlMemory_t mem{};
    if (a.memory && a.memory(dev, &mem) == NVML_SUCCESS) {
      s.memory_used_bytes = mem.used;
      s.memory_total_bytes = mem.total;
    }
    unsigned int temp = 0;
    if (a.temperature && a.temperature(dev, NVML_TEMPERATURE_GPU, &temp) == NVML_SUCCESS)
      s.temperature_celsius = temp;
    unsigned int milliwatts = 0;
    if (a.power && a.power(dev, &milliwatts) == NVML_SUCCESS) s.power_watts = milliwatts / 1000.0;
    unsigned long long ecc = 0;
    // NVML_ERROR_NOT_SUPPORTED where the device has no ECC (or it is off): those stay unset.
    if (a.ecc && a.ecc(dev, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ecc) == NVML_SUCCESS)
      s.ecc_corrected = ecc;
    if (a.ecc && a.ecc(dev, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ecc) == NVML_SUCCESS)
      s.ecc_uncorrected = ecc;
    out.push_back(std::move(s));
  }
  return out;
}

const Nvml& Nvml::shared() {
  static const Nvml instance;  // thread-safe initialization; lives for the process
  return instance;
}

}  // namespace llm
