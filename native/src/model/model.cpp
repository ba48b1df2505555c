// Model::load: config.json + model.safetensors (or the shards of model.safetensors.index.json),
// memory-mapped, every Llama tensor found and checked against the config.
#include "model/model.h"

#include <sys/stat.h>

#include <map>
#include <memory>

#include "llm/error.h"
#include "model/config_json.h"
#include "model/json.h"
#include "model/safetensors.h"

namespace llm {

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class LoadedModel : public Model {
 public:
  explicit LoadedModel(const std::string& dir) {
    path_ = dir;
    const std::string config_path = dir + "/config.json";
    if (!is_file(config_path)) throw Error(dir + ": not a model directory (no config.json)");
    config_ = parse_model_config(read_text_file(config_path), config_path);
    open_weights(dir);
    bind_weights();
  }

 private:
  void open_weights(const std::string& dir) {
    const std::string single = dir + "/model.safetensors";
    const std::string index = dir + "/model.safetensors.index.json";
    if (is_file(single)) {
      files_.push_back(std::make_unique<SafetensorsFile>(single));
      for (const SafetensorsEntry& e : files_[0]->header().tensors) location_[e.name] = files_[0].get();
      return;
    }
    if (!is_file(index))
      throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
    json::Value root = json::parse(read_text_file(index), index);
    const json::Value* map = root.find("weight_map");
    if (!map || !map->is_object()) throw Error(index + ": missing \"weight_map\" object");
    std::map<std::string, SafetensorsFile*> by_name;
    for (const auto& kv : map->members()) {
      if (!kv.second.is_string()) throw Error(index + ": weight_map[\"" + kv.first + "\"] must be a file name");
      const std::string& shard = kv.second.as_string();
      if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
          shard == "." || shard == "..")
        throw Error(index + ": weight_map[\"" + kv.first + "\"] = \"" + shard + "\" is not a plain file name");
      auto it = by_name.find(shard);
      if (it == by_name.end()) {
        files_.push_back(std::make_unique<SafetensorsFile>(dir + "/" + shard));
        it = by_name.emplace(shard, files_.back().get()).first;
      }
      if (!it->second->find(kv.first))
        throw Error(it->second->path() + ": tensor \"" + kv.first + "\" listed in " + index + " is missing");
      location_[kv.first] = it->second;
    }
  }

  TensorView get(const std::string& name, std::vector<int64_t> expected) const {
    auto it = location_.find(name);
    if (it == location_.end())
      throw Error(path_ + ": missing tensor \"" + name + "\" (expected shape " + shape_str(expected) + ")");
    const SafetensorsFile* f = it->second;
    TensorView v = f->view(*f->find(name));
    if (v.shape != expected)
      throw Error(f->path() + ": tensor \"" + name + "\" has shape " + shape_str(v.shape) + ", expected " +
                  shape_str(expected) + " from config.json");
    return v;
  }

  void bind_weights() {
    const ModelConfig& c = config_;
    const int64_t h = c.hidden_size, ffn = c.intermediate_size, vocab = c.vocab_size;
    const int64_t q = static_cast<int64_t>(c.num_heads) * c.head_dim;
    const int64_t kv = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
    weights_.embed = get("model.embed_tokens.weight", {vocab, h});
    weights_.final_norm = get("model.norm.weight", {h});
    if (c.tie_word_embeddings) {
      weights_.lm_head = weights_.embed;
    } else {
      weights_.lm_head = get("lm_head.weight", {vocab, h});
    }
    weights_.layers.resize(c.num_layers);
    for (int l = 0; l < c.num_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      LayerWeights& w = weights_.layers[l];
      w.attn_norm = get(p + "input_layernorm.weight", {h});
      w.wq = get(p + "self_attn.q_proj.weight", {q, h});
      w.wk = get(p + "self_attn.k_proj.weight", {kv, h});
      w.wv = get(p + "self_attn.v_proj.weight", {kv, h});
      w.wo = get(p + "self_attn.o_proj.weight", {h, q});
      w.mlp_norm = get(p + "post_attention_layernorm.weight", {h});
      w.w_gate = get(p + "mlp.gate_proj.weight", {ffn, h});
      w.w_up = get(p + "mlp.up_proj.weight", {ffn, h});
      w.w_down = get(p + "mlp.down_proj.weight", {h, ffn});
    }
  }

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> location_;
};

}  // namespace

std::shared_ptr<const Model> Model::load(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (d.empty()) throw Error("model path is empty");
  struct stat st;
  if (::stat(d.c_str(), &st) != 0) throw Error(d + ": model directory does not exist");
  if (!S_ISDIR(st.st_mode)) throw Error(d + ": model path is not a directory");
  return std::make_shared<LoadedModel>(d);
}

}  // namespace llm
