// Hyper-parameters of a Hugging Face Llama model, parsed from config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llm {

// Llama 3 "rope_scaling": {"rope_type": "llama3", factor, low_freq_factor, high_freq_factor,
// original_max_position_embeddings}. When absent, enabled == false and plain RoPE is used.
struct RopeScaling {
  bool enabled = false;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;
};

struct ModelConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;  // hidden_size / num_heads unless config.json says otherwise
  int vocab_size = 0;
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  int bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;  // config.json's eos_token_id, a number or a list
  std::string torch_dtype;             // informational ("bfloat16", ...)
};

// Per-pair inverse frequencies (head_dim / 2 values) with Llama 3 scaling applied. Every backend
// uses this one definition so they agree bit for bit on the angles.
std::vector<float> rope_inv_freq(const ModelConfig& config);

}  // namespace llm
