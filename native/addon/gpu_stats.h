// addon.gpuStats() and addon.gpuInfo(): GPU readings through NVML (see src/runtime/nvml.h).
#pragma once

#include <napi.h>

namespace addon {

Napi::Value GpuStats(const Napi::CallbackInfo& info);
Napi::Value GpuInfo(const Napi::CallbackInfo& info);

}  // namespace addon
