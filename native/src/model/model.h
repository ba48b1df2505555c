// A loaded Llama model: config plus memory-mapped weights. Backends read (and may copy or
// repack) the weights; the Model keeps the mappings alive for its whole lifetime.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/tensor.h"

namespace llm {

struct LayerWeights {
  TensorView attn_norm;  // input_layernorm.weight            [hidden]
  TensorView wq;         // self_attn.q_proj.weight            [heads*head_dim, hidden]
  TensorView wk;         // self_attn.k_proj.weight            [kv_heads*head_dim, hidden]
  TensorView wv;         // self_attn.v_proj.weight            [kv_heads*head_dim, hidden]
  TensorView wo;         // self_attn.o_proj.weight            [hidden, heads*head_dim]
  TensorView mlp_norm;   // post_attention_layernorm.weight    [hidden]
  TensorView w_gate;     // mlp.gate_proj.weight               [intermediate, hidden]
  TensorView w_up;       // mlp.up_proj.weight                 [intermediate, hidden]
  TensorView w_down;     // mlp.down_proj.weight               [hidden, intermediate]
};

struct ModelWeights {
  TensorView embed;       // model.embed_tokens.weight [vocab, hidden]
  TensorView final_norm;  // model.norm.weight         [hidden]
  TensorView lm_head;     // lm_head.weight, or the embeddings when tie_word_embeddings
  std::vector<LayerWeights> layers;
};

class Model {
 public:
  // Loads <dir>/config.json and model.safetensors (or the shards listed in
  // model.safetensors.index.json). Throws llm::Error naming the file and tensor on any defect.
  static std::shared_ptr<const Model> load(const std::string& dir);

  virtual ~Model() = default;
  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const std::string& path() const { return path_; }

 protected:
  ModelConfig config_;
  ModelWeights weights_;
  std::string path_;
};

}  // namespace llm
