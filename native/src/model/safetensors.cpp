#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "llm/error.h"
#include "model/json.h"

namespace llm {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit
constexpr int kMaxRank = 8;

bool parse_dtype(const std::string& s, DType* out, uint64_t* elem_size) {
  if (s == "F32") { *out = DType::F32; *elem_size = 4; return true; }
  if (s == "F16") { *out = DType::F16; *elem_size = 2; return true; }
  if (s == "BF16") { *out = DType::BF16; *elem_size = 2; return true; }
  return false;
}

// Element size of dtypes we do not compute with but still validate.
uint64_t other_dtype_size(const std::string& s) {
  if (s == "F64" || s == "I64" || s == "U64") return 8;
  if (s == "I32" || s == "U32") return 4;
  if (s == "I16" || s == "U16") return 2;
  if (s == "I8" || s == "U8" || s == "BOOL" || s == "F8_E4M3" || s == "F8_E5M2") return 1;
  return 0;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, uint64_t file_size,
                                           const std::string& file) {
  if (file_size < 8 || size < 8)
    throw Error(file + ": truncated safetensors file (" + std::to_string(file_size) +
                " bytes; the 8-byte header length is missing)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n < 2) throw Error(file + ": safetensors header length " + std::to_string(n) + " is too small");
  if (n > kMaxHeaderBytes)
    throw Error(file + ": safetensors header length " + std::to_string(n) + " exceeds the 100 MiB limit");
  if (n > file_size - 8 || n > size - 8)
    throw Error(file + ": truncated safetensors file: header length " + std::to_string(n) +
                " runs past the end of the file (" + std::to_string(file_size) + " bytes)");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const uint64_t data_size = file_size - h.data_start;
  json::Value root = json::parse(reinterpret_cast<const char*>(bytes + 8), static_cast<size_t>(n),
                                 file + " (safetensors header)");
  if (!root.is_object()) throw Error(file + ": safetensors header must be a JSON object");

  for (const auto& kv : root.members()) {
    const std::string& name = kv.first;
    const json::Value& info = kv.second;
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(file + ": \"__metadata__\" must be an object");
      continue;
    }
    const std::string where = file + ": tensor \"" + name + "\"";
    if (!info.is_object()) throw Error(where + ": entry must be an object");
    const json::Value* dtype = info.find("dtype");
    const json::Value* shape = info.find("shape");
    const json::Value* offsets = info.find("data_offsets");
    if (!dtype || !dtype->is_string()) throw Error(where + ": missing or non-string \"dtype\"");
    if (!shape || !shape->is_array()) throw Error(where + ": missing or non-array \"shape\"");
    if (!offsets || !offsets->is_array() || offsets->items().size() != 2)
      throw Error(where + ": \"data_offsets\" must be [begin, end]");

    SafetensorsEntry e;
    e.name = name;
    e.dtype_str = dtype->as_string();
    uint64_t elem = 0;
    e.dtype_supported = parse_dtype(e.dtype_str, &e.dtype, &elem);
    if (!e.dtype_supported) elem = other_dtype_size(e.dtype_str);
    if (elem == 0) throw Error(where + ": unknown dtype \"" + e.dtype_str + "\"");

    if (shape->items().size() > static_cast<size_t>(kMaxRank))
      throw Error(where + ": rank " + std::to_string(shape->items().size()) + " is too large");
    uint64_t numel = 1;
    for (const json::Value& d : shape->items()) {
      if (!d.is_integer() || d.as_int64() < 0)
        throw Error(where + ": shape dimensions must be non-negative integers");
      const uint64_t dim = static_cast<uint64_t>(d.as_int64());
      if (dim != 0 && numel > (uint64_t{1} << 52) / dim) throw Error(where + ": shape is too large");
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const json::Value& b = offsets->items()[0];
    const json::Value& en = offsets->items()[1];
    if (!b.is_integer() || !en.is_integer() || b.as_int64() < 0 || en.as_int64() < 0)
      throw Error(where + ": \"data_offsets\" must be non-negative integers");
    e.begin = static_cast<uint64_t>(b.as_int64());
    e.end = static_cast<uint64_t>(en.as_int64());
    if (e.end < e.begin) throw Error(where + ": data_offsets end < begin");
    if (e.end > data_size)
      throw Error(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  "] run past the end of the file (data section is " + std::to_string(data_size) +
                  " bytes; truncated file?)");
    if (e.end - e.begin != numel * elem)
      throw Error(where + ": holds " + std::to_string(e.end - e.begin) + " bytes but shape x " + e.dtype_str +
                  " needs " + std::to_string(numel * elem));
    h.tensors.push_back(std::move(e));
  }
  return h;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open (" + errno_text() + ")");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string msg = path + ": cannot stat (" + errno_text() + ")";
    ::close(fd);
    throw Error(msg);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw Error(path + ": truncated safetensors file (" + std::to_string(file_size) +
                " bytes; the 8-byte header length is missing)");
  }
  void* m = ::mmap(nullptr, static_cast<size_t>(file_size), PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);
  if (m == MAP_FAILED) throw Error(path + ": mmap failed (" + std::strerror(map_errno) + ")");
  map_ = m;
  map_size_ = static_cast<size_t>(file_size);
  try {
    header_ = parse_safetensors_header(static_cast<const uint8_t*>(map_), map_size_, file_size, path);
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
  for (size_t i = 0; i < header_.tensors.size(); ++i) index_[header_.tensors[i].name] = i;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

TensorView SafetensorsFile::view(const SafetensorsEntry& e) const {
  if (!e.dtype_supported)
    throw Error(path_ + ": tensor \"" + e.name + "\" has unsupported dtype " + e.dtype_str +
                " (supported: F32, F16, BF16)");
  TensorView v;
  v.name = e.name;
  v.dtype = e.dtype;
  v.shape = e.shape;
  v.data = static_cast<const uint8_t*>(map_) + header_.data_start + e.begin;
  return v;
}

}  // namespace llm
