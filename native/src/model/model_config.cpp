#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "llm/error.h"
#include "model/config_json.h"
#include "model/json.h"

namespace llm {

namespace {

constexpr int64_t kMaxDim = 1 << 20;      // hidden, intermediate, head dims
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxPositions = 1 << 26;

class ConfigReader {
 public:
  ConfigReader(const json::Value& root, const std::string& file) : root_(root), file_(file) {}

  [[noreturn]] void fail(const std::string& msg) const { throw Error(file_ + ": " + msg); }

  const json::Value* get(const char* key) const {
    const json::Value* v = root_.find(key);
    return (v && !v->is_null()) ? v : nullptr;
  }

  int64_t integer(const json::Value& v, const std::string& key, int64_t lo, int64_t hi) const {
    if (!v.is_integer()) fail("\"" + key + "\" must be an integer, got " + describe(v));
    int64_t x = v.as_int64();
    if (x < lo || x > hi)
      fail("\"" + key + "\" = " + std::to_string(x) + " is out of range [" + std::to_string(lo) + ", " +
           std::to_string(hi) + "]");
    return x;
  }

  int required_int(const char* key, int64_t lo, int64_t hi) const {
    const json::Value* v = get(key);
    if (!v) fail(std::string("missing required field \"") + key + "\"");
    return static_cast<int>(integer(*v, key, lo, hi));
  }

  int optional_int(const char* key, int fallback, int64_t lo, int64_t hi) const {
    const json::Value* v = get(key);
    return v ? static_cast<int>(integer(*v, key, lo, hi)) : fallback;
  }

  double number(const json::Value& v, const std::string& key) const {
    if (!v.is_number()) fail("\"" + key + "\" must be a number, got " + describe(v));
    return v.as_number();
  }

  float positive_float(const json::Value* obj, const char* key, float fallback, bool required) const {
    const json::Value* v = obj ? obj->find(key) : nullptr;
    if (!v || v->is_null()) {
      if (required) fail(std::string("missing required field \"") + key + "\"");
      return fallback;
    }
    double x = number(*v, key);
    if (!(x > 0) || !std::isfinite(x) || x > 3.0e38)
      fail(std::string("\"") + key + "\" must be a positive finite number");
    return static_cast<float>(x);
  }

  bool optional_bool(const char* key, bool fallback) const {
    const json::Value* v = get(key);
    if (!v) return fallback;
    if (!v->is_bool()) fail(std::string("\"") + key + "\" must be true or false, got " + describe(*v));
    return v->as_bool();
  }

  static std::string describe(const json::Value& v) {
    if (v.is_number()) {
      std::ostringstream os;
      os << v.as_number();
      return os.str();
    }
    if (v.is_string()) return "\"" + v.as_string() + "\"";
    return json::type_name(v.type());
  }

 private:
  const json::Value& root_;
  const std::string& file_;
};

void parse_architecture(const ConfigReader& r) {
  if (const json::Value* mt = r.get("model_type")) {
    if (!mt->is_string()) r.fail("\"model_type\" must be a string");
    if (mt->as_string() != "llama")
      r.fail("unsupported model_type \"" + mt->as_string() + "\" (only \"llama\" is supported)");
  }
  if (const json::Value* arch = r.get("architectures")) {
    if (!arch->is_array() || arch->items().empty()) r.fail("\"architectures\" must be a non-empty list");
    bool ok = false;
    std::string names;
    for (const json::Value& a : arch->items()) {
      if (!a.is_string()) r.fail("\"architectures\" must list strings");
      ok = ok || a.as_string() == "LlamaForCausalLM";
      names += (names.empty() ? "" : ", ") + a.as_string();
    }
    if (!ok) r.fail("unsupported architecture " + names + " (only LlamaForCausalLM is supported)");
  }
  if (!r.get("model_type") && !r.get("architectures"))
    r.fail("neither \"model_type\" nor \"architectures\" is set; cannot tell it is a Llama model");
  if (const json::Value* act = r.get("hidden_act")) {
    if (!act->is_string() || act->as_string() != "silu")
      r.fail("unsupported hidden_act " + ConfigReader::describe(*act) + " (only \"silu\")");
  }
  if (r.optional_bool("attention_bias", false)) r.fail("unsupported \"attention_bias\": true");
  if (r.optional_bool("mlp_bias", false)) r.fail("unsupported \"mlp_bias\": true");
  if (const json::Value* tp = r.get("pretraining_tp")) {
    if (!tp->is_integer() || tp->as_int64() < 1) r.fail("\"pretraining_tp\" must be a positive integer");
  }
}

void parse_rope_scaling(const ConfigReader& r, ModelConfig& c) {
  const json::Value* rs = r.get("rope_scaling");
  if (!rs) return;
  if (!rs->is_object()) r.fail("\"rope_scaling\" must be an object or null");
  const json::Value* type = rs->find("rope_type");
  if (!type || type->is_null()) type = rs->find("type");
  if (!type || !type->is_string()) r.fail("\"rope_scaling\" has no \"rope_type\"");
  const std::string& t = type->as_string();
  if (t == "default") return;
  if (t != "llama3")
    r.fail("unsupported rope_scaling type \"" + t + "\" (supported: llama3, default)");
  RopeScaling& s = c.rope_scaling;
  s.enabled = true;
  s.factor = r.positive_float(rs, "factor", 1.0f, true);
  s.low_freq_factor = r.positive_float(rs, "low_freq_factor", 1.0f, true);
  s.high_freq_factor = r.positive_float(rs, "high_freq_factor", 4.0f, true);
  const json::Value* orig = rs->find("original_max_position_embeddings");
  if (!orig || orig->is_null()) r.fail("rope_scaling: missing \"original_max_position_embeddings\"");
  s.original_max_position_embeddings =
      static_cast<int>(r.integer(*orig, "original_max_position_embeddings", 1, kMaxPositions));
  if (!(s.high_freq_factor > s.low_freq_factor))
    r.fail("rope_scaling: \"high_freq_factor\" must be greater than \"low_freq_factor\"");
}

void parse_special_tokens(const ConfigReader& r, ModelConfig& c) {
  if (const json::Value* bos = r.get("bos_token_id"))
    c.bos_token_id = static_cast<int>(r.integer(*bos, "bos_token_id", 0, c.vocab_size - 1));
  if (const json::Value* eos = r.get("eos_token_id")) {
    if (eos->is_array()) {
      for (const json::Value& e : eos->items())
        c.eos_token_ids.push_back(static_cast<int32_t>(r.integer(e, "eos_token_id", 0, c.vocab_size - 1)));
    } else {
      c.eos_token_ids.push_back(static_cast<int32_t>(r.integer(*eos, "eos_token_id", 0, c.vocab_size - 1)));
    }
  }
}

}  // namespace

ModelConfig parse_model_config(const std::string& text, const std::string& file) {
  json::Value root = json::parse(text, file);
  if (!root.is_object()) throw Error(file + ": the top level must be a JSON object");
  ConfigReader r(root, file);
  parse_architecture(r);

  ModelConfig c;
  c.hidden_size = r.required_int("hidden_size", 1, kMaxDim);
  c.intermediate_size = r.required_int("intermediate_size", 1, kMaxDim);
  c.num_layers = r.required_int("num_hidden_layers", 1, kMaxLayers);
  c.num_heads = r.required_int("num_attention_heads", 1, 4096);
  c.num_kv_heads = r.optional_int("num_key_value_heads", c.num_heads, 1, 4096);
  c.vocab_size = r.required_int("vocab_size", 1, kMaxVocab);
  c.max_position_embeddings = r.optional_int("max_position_embeddings", 2048, 1, kMaxPositions);
  if (const json::Value* hd = r.get("head_dim")) {
    c.head_dim = static_cast<int>(r.integer(*hd, "head_dim", 1, kMaxDim));
  } else {
    if (c.hidden_size % c.num_heads != 0)
      r.fail("hidden_size " + std::to_string(c.hidden_size) + " is not divisible by num_attention_heads " +
             std::to_string(c.num_heads));
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.head_dim % 2 != 0) r.fail("head_dim " + std::to_string(c.head_dim) + " must be even for RoPE");
  if (c.num_heads % c.num_kv_heads != 0)
    r.fail("num_attention_heads " + std::to_string(c.num_heads) + " is not a multiple of num_key_value_heads " +
           std::to_string(c.num_kv_heads));
  if (static_cast<int64_t>(c.num_heads) * c.head_dim > kMaxDim) r.fail("num_attention_heads * head_dim is too large");

  if (const json::Value* eps = r.get("rms_norm_eps")) {
    double x = r.number(*eps, "rms_norm_eps");
    if (!(x > 0) || x > 1) r.fail("\"rms_norm_eps\" must be in (0, 1]");
    c.rms_norm_eps = static_cast<float>(x);
  } else {
    c.rms_norm_eps = 1e-6f;  // LlamaConfig's default
  }
  c.rope_theta = r.positive_float(&root, "rope_theta", 10000.0f, false);
  parse_rope_scaling(r, c);
  c.tie_word_embeddings = r.optional_bool("tie_word_embeddings", false);
  parse_special_tokens(r, c);
  const json::Value* dt = r.get("torch_dtype");
  if (!dt) dt = r.get("dtype");
  if (dt && dt->is_string()) c.torch_dtype = dt->as_string();
  return c;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return ss.str();
}

// Hugging Face's _compute_default_rope_parameters and _compute_llama3_parameters, evaluated in
// float32 like PyTorch does.
std::vector<float> rope_inv_freq(const ModelConfig& config) {
  const int dim = config.head_dim;
  const int half = dim / 2;
  std::vector<float> inv(half);
  for (int i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    float p = static_cast<float>(std::pow(static_cast<double>(config.rope_theta), static_cast<double>(exponent)));
    inv[i] = 1.0f / p;
  }
  const RopeScaling& s = config.rope_scaling;
  if (!s.enabled) return inv;
  const float old_ctx = static_cast<float>(s.original_max_position_embeddings);
  const float low_freq_wavelen = old_ctx / s.low_freq_factor;
  const float high_freq_wavelen = old_ctx / s.high_freq_factor;
  const float two_pi = static_cast<float>(2.0 * 3.14159265358979323846);
  for (int i = 0; i < half; ++i) {
    const float f = inv[i];
    const float wavelen = two_pi / f;
    float scaled = wavelen > low_freq_wavelen ? f / s.factor : f;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    if (medium) {
      const float smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      scaled = (1.0f - smooth) * scaled / s.factor + smooth * scaled;
    }
    inv[i] = scaled;
  }
  return inv;
}

}  // namespace llm
