// Helpers for the model tests: temp directories and a small safetensors reader/writer used to
// build broken copies of the fixture.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "model/json.h"

namespace testutil {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A fresh directory under $TMPDIR, removed by the destructor.
struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/llm-model-test-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    char* p = ::mkdtemp(buf.data());
    path = p ? p : "";
  }
  ~TempDir() {
    if (!path.empty()) {
      std::string cmd = "rm -rf '" + path + "'";
      int rc = std::system(cmd.c_str());
      (void)rc;
    }
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline void copy_file(const std::string& from, const std::string& to) { write_file(to, read_file(from)); }

struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

inline std::vector<StTensor> read_safetensors(const std::string& path) {
  std::string data = read_file(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(data[i]);
  llm::json::Value root = llm::json::parse(data.data() + 8, n, path);
  std::vector<StTensor> out;
  for (const auto& kv : root.members()) {
    if (kv.first == "__metadata__") continue;
    StTensor t;
    t.name = kv.first;
    t.dtype = kv.second.find("dtype")->as_string();
    for (const auto& d : kv.second.find("shape")->items()) t.shape.push_back(d.as_int64());
    const auto& off = kv.second.find("data_offsets")->items();
    t.bytes = data.substr(8 + n + off[0].as_int64(), off[1].as_int64() - off[0].as_int64());
    out.push_back(std::move(t));
  }
  return out;
}

inline std::string safetensors_bytes(const std::vector<StTensor>& tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t off = 0;
  for (const StTensor& t : tensors) {
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.bytes.size()) + "]}";
    off += t.bytes.size();
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  for (const StTensor& t : tensors) out += t.bytes;
  return out;
}

inline void write_safetensors(const std::string& path, const std::vector<StTensor>& tensors) {
  write_file(path, safetensors_bytes(tensors));
}

// Copies the non-weight files of a model directory.
inline void copy_model_meta(const std::string& from, const std::string& to) {
  for (const char* f : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"})
    copy_file(from + "/" + f, to + "/" + f);
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

}  // namespace testutil
