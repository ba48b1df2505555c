// A read-only view of one weight tensor, usually pointing into a memory-mapped safetensors file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace llm {

// I8 never comes from a checkpoint: it is the CPU backend's int8 quantized weight (per-row scales).
enum class DType { F32, F16, BF16, I8, I4 };  // I8 / I4: quantized by the CPU backend, never stored

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct TensorView {
  std::string name;             // e.g. "model.layers.0.self_attn.q_proj.weight"
  DType dtype = DType::F32;
  std::vector<int64_t> shape;   // PyTorch order: a Linear weight is [out_features, in_features]
  const void* data = nullptr;   // row-major, owned by the Model's mappings

  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

}  // namespace llm
