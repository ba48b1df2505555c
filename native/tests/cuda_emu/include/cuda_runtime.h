// CUDA emulator (tests only): the runtime API plus the device-side language (see emu_device.h).
#pragma once

#include "cuda_runtime_api.h"
#include "../emu_device.h"

template <class T>
inline cudaError_t cudaMalloc(T** ptr, size_t size) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), size);
}
template <class T>
inline cudaError_t cudaMallocHost(T** ptr, size_t size) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), size);
}
