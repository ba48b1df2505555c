#include "random_model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "backend/cpu/kernels.h"

namespace bench {

ModelShape shape_by_name(const std::string& name) {
  if (name == "llama-3.2-1b") return {name, 2048, 16, 32, 8, 8192, 128256, true};
  if (name == "llama-3.2-3b") return {name, 3072, 28, 24, 8, 8192, 128256, true};
  if (name == "small") return {name, 512, 4, 8, 2, 1408, 128256, true};
  throw std::runtime_error("unknown model shape '" + name + "' (llama-3.2-1b, llama-3.2-3b, small)");
}

std::vector<std::string> shape_names() { return {"llama-3.2-1b", "llama-3.2-3b", "small"}; }

namespace {

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  float scale;  // < 0: constant 1.0 (norm weights)
  size_t offset = 0, bytes = 0;
};

inline uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

size_t write_random_model(const ModelShape& s, const std::string& dir, int threads, uint64_t seed) {
  for (size_t i = 1; i <= dir.size(); ++i)  // mkdir -p
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
  const int hd = s.hidden / s.heads;
  std::vector<Spec> specs;
  const float w = 0.02f;
  specs.push_back({"model.embed_tokens.weight", {s.vocab, s.hidden}, w});
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    specs.push_back({p + "input_layernorm.weight", {s.hidden}, -1});
    specs.push_back({p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden}, w});
    specs.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden}, w});
    specs.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden}, w});
    specs.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd}, w});
    specs.push_back({p + "post_attention_layernorm.weight", {s.hidden}, -1});
    specs.push_back({p + "mlp.gate_proj.weight", {s.ffn, s.hidden}, w});
    specs.push_back({p + "mlp.up_proj.weight", {s.ffn, s.hidden}, w});
    specs.push_back({p + "mlp.down_proj.weight", {s.hidden, s.ffn}, w});
  }
  specs.push_back({"model.norm.weight", {s.hidden}, -1});
  if (!s.tied) specs.push_back({"lm_head.weight", {s.vocab, s.hidden}, w});

  size_t off = 0;
  std::ostringstream h;
  h << "{\"__metadata__\":{\"format\":\"pt\"}";
  for (Spec& t : specs) {
    size_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<size_t>(d);
    t.offset = off;
    t.bytes = n * 2;
    off += t.bytes;
    h << ",\"" << t.name << "\":{\"dtype\":\"BF16\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) h << (i ? "," : "") << t.shape[i];
    h << "],\"data_offsets\":[" << t.offset << "," << t.offset + t.bytes << "]}";
  }
  h << "}";
  std::string header = h.str();
  while ((header.size() + 8) % 8) header += ' ';
  const size_t data_start = 8 + header.size();

  const std::string path = dir + "/model.safetensors";
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  if (::ftruncate(fd, static_cast<off_t>(data_start + off)) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot size " + path + ": " + std::strerror(errno));
  }
  uint64_t hlen = header.size();
  unsigned char lenbuf[8];
  for (int i = 0; i < 8; ++i) lenbuf[i] = static_cast<unsigned char>(hlen >> (8 * i));
  bool ok = ::pwrite(fd, lenbuf, 8, 0) == 8 &&
            ::pwrite(fd, header.data(), header.size(), 8) == static_cast<ssize_t>(header.size());

  // Work items: 8 MiB chunks of every tensor, handed out round-robin to the threads.
  struct Chunk { size_t tensor, begin, count; };
  std::vector<Chunk> chunks;
  const size_t chunk_elems = 4u << 20;
  for (size_t i = 0; i < specs.size(); ++i)
    for (size_t b = 0; b < specs[i].bytes / 2; b += chunk_elems)
      chunks.push_back({i, b, std::min(chunk_elems, specs[i].bytes / 2 - b)});
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> failed(threads, 0);
  std::vector<std::thread> pool;
  for (int th = 0; th < threads; ++th)
    pool.emplace_back([&, th] {
      std::vector<uint16_t> buf(chunk_elems);
      for (size_t c = th; c < chunks.size(); c += threads) {
        const Chunk& ch = chunks[c];
        const Spec& t = specs[ch.tensor];
        const uint64_t base = splitmix(seed ^ (ch.tensor * 0x100000001b3ull));
        // Uniform in [-a, a] with standard deviation `scale`: a = scale * sqrt(3).
        const float a = t.scale * 1.7320508f;
        for (size_t i = 0; i < ch.count; ++i) {
          if (t.scale < 0) {
            buf[i] = llm::cpu::f32_to_bf16(1.0f);
          } else {
            const uint64_t r = splitmix(base + ch.begin + i);
            const float u = static_cast<float>(r >> 40) * (1.0f / 16777216.0f);  // [0, 1)
            buf[i] = llm::cpu::f32_to_bf16((2.0f * u - 1.0f) * a);
          }
        }
        const size_t bytes = ch.count * 2;
        if (::pwrite(fd, buf.data(), bytes, static_cast<off_t>(data_start + t.offset + ch.begin * 2)) !=
            static_cast<ssize_t>(bytes))
          failed[th] = 1;
      }
    });
  for (auto& t : pool) t.join();
  for (int f : failed) ok = ok && !f;
  ok = ::close(fd) == 0 && ok;
  if (!ok) throw std::runtime_error("writing " + path + " failed");

  std::ostringstream cfg;
  cfg << "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
      << "  \"hidden_size\": " << s.hidden << ",\n  \"intermediate_size\": " << s.ffn << ",\n"
      << "  \"num_hidden_layers\": " << s.layers << ",\n  \"num_attention_heads\": " << s.heads << ",\n"
      << "  \"num_key_value_heads\": " << s.kv_heads << ",\n  \"head_dim\": " << hd << ",\n"
      << "  \"vocab_size\": " << s.vocab << ",\n  \"max_position_embeddings\": 131072,\n"
      << "  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": 500000.0,\n"
      << "  \"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0, "
         "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},\n"
      << "  \"hidden_act\": \"silu\",\n  \"attention_bias\": false,\n  \"mlp_bias\": false,\n"
      << "  \"tie_word_embeddings\": " << (s.tied ? "true" : "false") << ",\n"
      << "  \"bos_token_id\": 128000,\n  \"eos_token_id\": [128001, 128008, 128009],\n"
      << "  \"torch_dtype\": \"bfloat16\",\n  \"use_cache\": true\n}\n";
  write_text(dir + "/config.json", cfg.str());
  write_text(dir + "/generation_config.json",
             "{\n  \"bos_token_id\": 128000,\n  \"eos_token_id\": [128001, 128008, 128009],\n  \"do_sample\": false\n}\n");
  return off;
}

}  // namespace bench
