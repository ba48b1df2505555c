// Writes a Hugging Face Llama directory (config.json, generation_config.json, model.safetensors)
// with random bf16 weights of a named shape, using all cores. Deterministic for a given seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct ModelShape {
  std::string name;
  int hidden = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0;
  bool tied = true;
};

// "llama-3.2-1b", "llama-3.2-3b", "small" (quick local runs). Throws on an unknown name.
ModelShape shape_by_name(const std::string& name);
std::vector<std::string> shape_names();

// Returns the number of bytes of weights written.
size_t write_random_model(const ModelShape& shape, const std::string& dir, int threads, uint64_t seed = 1234);

}  // namespace bench
