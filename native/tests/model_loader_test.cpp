// Model::load over the fixtures (single file, sharded, tied, bf16) and over broken copies: every
// defect must be an llm::Error that names the file and the tensor or field.
#include <cmath>
#include <cstring>

#include "llm/error.h"
#include "model/config_json.h"
#include "model/model.h"
#include "model_test_util.h"
#include "testing.h"

using namespace testutil;

namespace {

std::string tiny() {
  std::string d = testing::model_dir();
  if (d.empty()) SKIP("no tiny model fixture (run node test/fixtures/make-tiny-model.mjs)");
  return d;
}

std::string mid() {
  std::string d = testing::mid_model_dir();
  if (d.empty()) SKIP("no mid model fixture");
  return d;
}

// A copy of the tiny model whose tensors went through `edit`, and whose config.json went through
// `edit_config`.
template <typename Edit>
void broken_copy(const TempDir& dir, Edit edit) {
  copy_model_meta(tiny(), dir.path);
  std::vector<StTensor> t = read_safetensors(tiny() + "/model.safetensors");
  edit(t);
  write_safetensors(dir.file("model.safetensors"), t);
}

StTensor* find(std::vector<StTensor>& t, const std::string& name) {
  for (auto& x : t)
    if (x.name == name) return &x;
  return nullptr;
}

void expect_load_error(const std::string& dir, const char* a, const char* b = nullptr) {
  bool threw = false;
  try {
    llm::Model::load(dir);
  } catch (const llm::Error& e) {
    threw = true;
    std::string what = e.what();
    if (what.find(a) == std::string::npos || (b && what.find(b) == std::string::npos))
      testing::report_failure(__FILE__, __LINE__,
                              "message '" + what + "' lacks '" + a + "'" + (b ? std::string(" / '") + b + "'" : ""));
  } catch (const std::exception& e) {
    threw = true;
    testing::report_failure(__FILE__, __LINE__, std::string("not an llm::Error: ") + e.what());
  }
  if (!threw) testing::report_failure(__FILE__, __LINE__, "load of " + dir + " did not throw");
}

}  // namespace

TEST(loads_tiny_fixture) {
  auto m = llm::Model::load(tiny());
  const llm::ModelConfig& c = m->config();
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.vocab_size, 384);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.bos_token_id, 256);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{257, 265}));
  EXPECT(!c.tie_word_embeddings);
  EXPECT(!c.rope_scaling.enabled);
  EXPECT_NEAR(c.rms_norm_eps, 1e-5, 1e-12);
  EXPECT_NEAR(c.rope_theta, 500000.0, 1e-3);
  const llm::ModelWeights& w = m->weights();
  CHECK_EQ(w.layers.size(), size_t{2});
  EXPECT(w.lm_head.data != w.embed.data);
  EXPECT_EQ(w.lm_head.name, std::string("lm_head.weight"));
  EXPECT(w.embed.dtype == llm::DType::F32);
  EXPECT_EQ(w.layers[1].wk.shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(w.layers[0].w_down.shape, (std::vector<int64_t>{64, 172}));
  // The view points at the real bytes: compare one value with the file.
  std::vector<StTensor> t = read_safetensors(tiny() + "/model.safetensors");
  StTensor* norm = find(t, "model.norm.weight");
  CHECK(norm != nullptr);
  EXPECT(std::memcmp(norm->bytes.data(), w.final_norm.data, norm->bytes.size()) == 0);
}

TEST(loads_mid_fixture_tied_bf16_rope_scaling) {
  auto m = llm::Model::load(mid());
  const llm::ModelConfig& c = m->config();
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.num_layers, 4);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT(c.tie_word_embeddings);
  EXPECT(c.rope_scaling.enabled);
  EXPECT_NEAR(c.rope_scaling.factor, 8.0, 0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 512);
  EXPECT(m->weights().lm_head.data == m->weights().embed.data);
  EXPECT(m->weights().embed.dtype == llm::DType::BF16);
  EXPECT_EQ(c.torch_dtype, std::string("bfloat16"));
}

TEST(loads_sharded_copy_identically) {
  TempDir dir;
  copy_model_meta(tiny(), dir.path);
  std::vector<StTensor> t = read_safetensors(tiny() + "/model.safetensors");
  std::vector<StTensor> a(t.begin(), t.begin() + t.size() / 2), b(t.begin() + t.size() / 2, t.end());
  write_safetensors(dir.file("model-00001-of-00002.safetensors"), a);
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), b);
  std::string idx = "{\"metadata\":{\"total_size\":0},\"weight_map\":{";
  for (size_t i = 0; i < t.size(); ++i)
    idx += (i ? "," : "") + ("\"" + t[i].name + "\":\"model-0000" + (i < a.size() ? "1" : "2") +
                             "-of-00002.safetensors\"");
  idx += "}}";
  write_file(dir.file("model.safetensors.index.json"), idx);

  auto sharded = llm::Model::load(dir.path);
  auto single = llm::Model::load(tiny());
  const auto& ws = sharded->weights();
  const auto& w1 = single->weights();
  EXPECT(std::memcmp(ws.embed.data, w1.embed.data, w1.embed.nbytes()) == 0);
  EXPECT(std::memcmp(ws.lm_head.data, w1.lm_head.data, w1.lm_head.nbytes()) == 0);
  for (size_t l = 0; l < w1.layers.size(); ++l) {
    EXPECT(std::memcmp(ws.layers[l].w_down.data, w1.layers[l].w_down.data, w1.layers[l].w_down.nbytes()) == 0);
    EXPECT(std::memcmp(ws.layers[l].wq.data, w1.layers[l].wq.data, w1.layers[l].wq.nbytes()) == 0);
  }

  // A shard that does not exist, a tensor missing from its shard, a path escaping the directory.
  std::string missing_shard = replace_all(idx, "model-00002-of-00002", "model-00009-of-00002");
  write_file(dir.file("model.safetensors.index.json"), missing_shard);
  expect_load_error(dir.path, "model-00009-of-00002.safetensors", "cannot open");
  std::string wrong_shard = replace_all(idx, "\"model.norm.weight\":\"model-00002", "\"model.norm.weight\":\"model-00001");
  if (wrong_shard == idx)
    wrong_shard = replace_all(idx, "\"model.norm.weight\":\"model-00001", "\"model.norm.weight\":\"model-00002");
  write_file(dir.file("model.safetensors.index.json"), wrong_shard);
  expect_load_error(dir.path, "model.norm.weight", "is missing");
  write_file(dir.file("model.safetensors.index.json"),
             replace_all(idx, "\"model-00001-of-00002.safetensors\"", "\"../model-00001-of-00002.safetensors\""));
  expect_load_error(dir.path, "not a plain file name");
  write_file(dir.file("model.safetensors.index.json"), "{\"metadata\":{}}");
  expect_load_error(dir.path, "weight_map");
}

TEST(missing_directory_config_and_weights) {
  expect_load_error("/nonexistent/model/dir", "/nonexistent/model/dir", "does not exist");
  TempDir dir;
  expect_load_error(dir.path, "no config.json");
  copy_model_meta(tiny(), dir.path);
  expect_load_error(dir.path, "no model.safetensors");
  write_file(dir.file("model.safetensors"), "");
  expect_load_error(dir.path, "model.safetensors", "truncated");
}

TEST(missing_tensor_is_named) {
  TempDir dir;
  broken_copy(dir, [](std::vector<StTensor>& t) {
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i].name == "model.layers.1.mlp.up_proj.weight") t.erase(t.begin() + static_cast<long>(i));
  });
  expect_load_error(dir.path, "missing tensor \"model.layers.1.mlp.up_proj.weight\"", "[172, 64]");
}

TEST(untied_model_needs_lm_head) {
  TempDir dir;
  broken_copy(dir, [](std::vector<StTensor>& t) { t.pop_back(); });  // lm_head.weight is last
  expect_load_error(dir.path, "lm_head.weight");
}

TEST(misshapen_tensor_is_named) {
  TempDir dir;
  broken_copy(dir, [](std::vector<StTensor>& t) {
    find(t, "model.layers.0.self_attn.q_proj.weight")->shape = {32, 128};  // same byte count
  });
  expect_load_error(dir.path, "model.layers.0.self_attn.q_proj.weight", "has shape [32, 128], expected [64, 64]");
}

TEST(unsupported_dtype_is_named) {
  TempDir dir;
  broken_copy(dir, [](std::vector<StTensor>& t) {
    StTensor* n = find(t, "model.layers.1.input_layernorm.weight");
    n->dtype = "F64";
    n->bytes += n->bytes;  // 8 bytes per element
  });
  expect_load_error(dir.path, "model.layers.1.input_layernorm.weight", "unsupported dtype F64");
  broken_copy(dir, [](std::vector<StTensor>& t) { find(t, "model.norm.weight")->dtype = "Q4_K"; });
  expect_load_error(dir.path, "model.norm.weight", "unknown dtype \"Q4_K\"");
}

TEST(byte_count_mismatch_is_named) {
  TempDir dir;
  broken_copy(dir, [](std::vector<StTensor>& t) { find(t, "model.norm.weight")->dtype = "BF16"; });
  expect_load_error(dir.path, "model.norm.weight", "needs 128");
}

TEST(truncated_file_names_the_tensor) {
  TempDir dir;
  copy_model_meta(tiny(), dir.path);
  std::string data = read_file(tiny() + "/model.safetensors");
  write_file(dir.file("model.safetensors"), data.substr(0, data.size() - 100));
  expect_load_error(dir.path, "lm_head.weight", "past the end of the file");
  write_file(dir.file("model.safetensors"), data.substr(0, 200));
  expect_load_error(dir.path, "model.safetensors", "header length");
  write_file(dir.file("model.safetensors"), data.substr(0, 5));
  expect_load_error(dir.path, "model.safetensors", "truncated");
}

TEST(bad_header_json) {
  TempDir dir;
  copy_model_meta(tiny(), dir.path);
  std::string data = read_file(tiny() + "/model.safetensors");
  std::string bad = data;
  bad[8 + 1] = '#';  // breaks the first key's quote
  write_file(dir.file("model.safetensors"), bad);
  expect_load_error(dir.path, "model.safetensors", "invalid JSON");
  // A header that is JSON but not an object.
  std::string arr = std::string("\x08\0\0\0\0\0\0\0", 8) + "[1,2,3] ";
  write_file(dir.file("model.safetensors"), arr);
  expect_load_error(dir.path, "must be a JSON object");
}

TEST(config_defects) {
  TempDir dir;
  copy_model_meta(tiny(), dir.path);
  copy_file(tiny() + "/model.safetensors", dir.file("model.safetensors"));
  const std::string cfg = read_file(tiny() + "/config.json");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string c = replace_all(cfg, from, to);
    CHECK(c != cfg);
    write_file(dir.file("config.json"), c);
  };
  with("\"model_type\": \"llama\"", "\"model_type\": \"qwen2\"");
  expect_load_error(dir.path, "config.json", "unsupported model_type \"qwen2\"");
  with("\"LlamaForCausalLM\"", "\"MixtralForCausalLM\"");
  expect_load_error(dir.path, "config.json", "unsupported architecture MixtralForCausalLM");
  with("\"hidden_size\": 64,", "");
  expect_load_error(dir.path, "config.json", "missing required field \"hidden_size\"");
  with("\"hidden_size\": 64", "\"hidden_size\": \"64\"");
  expect_load_error(dir.path, "\"hidden_size\" must be an integer");
  with("\"hidden_size\": 64", "\"hidden_size\": -64");
  expect_load_error(dir.path, "\"hidden_size\" = -64 is out of range");
  with("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3");
  expect_load_error(dir.path, "not a multiple of num_key_value_heads");
  with("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}");
  expect_load_error(dir.path, "unsupported rope_scaling type \"yarn\"");
  with("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}");
  expect_load_error(dir.path, "low_freq_factor");
  with("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"");
  expect_load_error(dir.path, "unsupported hidden_act");
  with("\"attention_bias\": false", "\"attention_bias\": true");
  expect_load_error(dir.path, "attention_bias");
  with("\"eos_token_id\": [", "\"eos_token_id\": [99999, ");
  expect_load_error(dir.path, "eos_token_id");
  with("\"vocab_size\": 384", "\"vocab_size\": 384,");
  expect_load_error(dir.path, "config.json", "invalid JSON");
  // A config that disagrees with the weights: the tensor is named.
  with("\"intermediate_size\": 172", "\"intermediate_size\": 128");
  expect_load_error(dir.path, "model.layers.0.mlp.gate_proj.weight", "expected [128, 64]");
}

TEST(config_variants) {
  const std::string base = read_file(tiny() + "/config.json");
  // head_dim from config wins; absent, it is hidden / heads.
  llm::ModelConfig c = llm::parse_model_config(replace_all(base, "\"head_dim\": 16", "\"head_dim\": 32"), "c");
  EXPECT_EQ(c.head_dim, 32);
  c = llm::parse_model_config(replace_all(base, "\"head_dim\": 16,", ""), "c");
  EXPECT_EQ(c.head_dim, 16);
  // eos as a single number, and absent.
  std::string eos_num = base;
  size_t a = eos_num.find("\"eos_token_id\"");
  size_t b = eos_num.find(']', a);
  eos_num.replace(a, b - a + 1, "\"eos_token_id\": 265");
  c = llm::parse_model_config(eos_num, "c");
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{265}));
  // num_key_value_heads absent: MHA.
  c = llm::parse_model_config(replace_all(base, "\"num_key_value_heads\": 2,", ""), "c");
  EXPECT_EQ(c.num_kv_heads, 4);
  // "type" instead of "rope_type" (older configs), "default" type disables scaling.
  c = llm::parse_model_config(
      replace_all(base, "\"rope_scaling\": null",
                  "\"rope_scaling\": {\"type\": \"llama3\", \"factor\": 32, \"low_freq_factor\": 1, "
                  "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}"),
      "c");
  EXPECT(c.rope_scaling.enabled);
  EXPECT_NEAR(c.rope_scaling.factor, 32.0, 0);
  c = llm::parse_model_config(replace_all(base, "\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"default\"}"),
                              "c");
  EXPECT(!c.rope_scaling.enabled);
}

// HF's _compute_llama3_parameters in float64, for comparison with rope_inv_freq (float32).
TEST(rope_inv_freq_matches_hf_llama3_formula) {
  llm::ModelConfig c;
  c.head_dim = 64;
  c.rope_theta = 500000.0f;
  c.rope_scaling.enabled = true;
  c.rope_scaling.factor = 32.0f;
  c.rope_scaling.low_freq_factor = 1.0f;
  c.rope_scaling.high_freq_factor = 4.0f;
  c.rope_scaling.original_max_position_embeddings = 8192;
  std::vector<float> inv = llm::rope_inv_freq(c);
  CHECK_EQ(inv.size(), size_t{32});
  int low = 0, high = 0, medium = 0;
  for (int i = 0; i < 32; ++i) {
    double f = 1.0 / std::pow(500000.0, 2.0 * i / 64.0);
    double wavelen = 2 * M_PI / f;
    double expect;
    if (wavelen < 8192.0 / 4) {
      expect = f;
      ++high;
    } else if (wavelen > 8192.0) {
      expect = f / 32;
      ++low;
    } else {
      double smooth = (8192.0 / wavelen - 1) / (4 - 1);
      expect = (1 - smooth) * f / 32 + smooth * f;
      ++medium;
    }
    EXPECT_NEAR(inv[i], expect, expect * 1e-5);
  }
  EXPECT(low > 0 && high > 0 && medium > 0);  // all three branches are covered
  c.rope_scaling.enabled = false;
  inv = llm::rope_inv_freq(c);
  EXPECT_NEAR(inv[0], 1.0, 0);
  EXPECT_NEAR(inv[31], 1.0 / std::pow(500000.0, 62.0 / 64.0), 1e-12);
}
