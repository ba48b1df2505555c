// safetensors files: an 8-byte little-endian header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then the data.
// parse_safetensors_header validates everything against the file size without touching the data;
// SafetensorsFile memory-maps a file and keeps the mapping alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/tensor.h"

namespace llm {

struct SafetensorsEntry {
  std::string name;
  std::string dtype_str;  // as written ("F32", "BF16", "I64", ...)
  bool dtype_supported = false;
  DType dtype = DType::F32;  // valid when dtype_supported
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_start = 0;  // 8 + header length
  std::vector<SafetensorsEntry> tensors;
};

// `bytes`/`size`: the file's first bytes (at least the header) and `file_size` the whole file's
// size. Throws llm::Error naming `file` (and the tensor) for any defect: short file, header length
// past the end, invalid JSON, missing/ill-typed fields, negative or huge shapes, offsets out of
// order or past the end of the file, byte counts that do not match shape x dtype.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, uint64_t file_size,
                                           const std::string& file);

class SafetensorsFile {
 public:
  // Maps the file read-only and parses its header. Throws llm::Error naming the file.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  const SafetensorsEntry* find(const std::string& name) const;
  // A view of a tensor with a supported dtype (throws naming file and tensor otherwise).
  TensorView view(const SafetensorsEntry& entry) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;
};

}  // namespace llm
