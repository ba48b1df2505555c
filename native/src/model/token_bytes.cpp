#include "model/token_bytes.h"

#include <array>
#include <cstdint>
#include <unordered_map>

#include "llm/error.h"
#include "model/config_json.h"
#include "model/json.h"

namespace llm {

namespace {

// GPT-2's bytes_to_unicode, inverted: code point -> byte. Printable bytes stand for themselves;
// the others were moved to U+0100 onwards in byte order.
std::unordered_map<uint32_t, uint8_t> byte_level_decoder() {
  std::array<bool, 256> printable{};
  for (int b = 0x21; b <= 0x7e; ++b) printable[b] = true;
  for (int b = 0xa1; b <= 0xac; ++b) printable[b] = true;
  for (int b = 0xae; b <= 0xff; ++b) printable[b] = true;
  std::unordered_map<uint32_t, uint8_t> map;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) map[printable[b] ? static_cast<uint32_t>(b) : next++] = static_cast<uint8_t>(b);
  return map;
}

// Decodes one UTF-8 code point at s[i]; advances i. Returns false on malformed input.
bool next_code_point(const std::string& s, size_t& i, uint32_t& cp) {
  const auto c = static_cast<uint8_t>(s[i]);
  int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
  if (extra < 0 || i + static_cast<size_t>(extra) >= s.size()) return false;
  cp = extra == 0 ? c : c & (0x3f >> extra);
  for (int k = 1; k <= extra; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3f);
  }
  i += static_cast<size_t>(extra) + 1;
  return true;
}

bool byte_level_bytes(const std::string& token, const std::unordered_map<uint32_t, uint8_t>& map, std::string& out) {
  out.clear();
  for (size_t i = 0; i < token.size();) {
    uint32_t cp = 0;
    if (!next_code_point(token, i, cp)) return false;
    const auto it = map.find(cp);
    if (it == map.end()) return false;
    out.push_back(static_cast<char>(it->second));
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// SentencePiece pieces: "<0xNN>" is the byte NN; "▁" (U+2581) is a space.
std::string sentencepiece_bytes(const std::string& piece) {
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
    const int hi = hex_value(piece[3]), lo = hex_value(piece[4]);
    if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
  }
  static const std::string kSpace = "\xe2\x96\x81";
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpace.size(), kSpace) == 0) {
      out.push_back(' ');
      i += kSpace.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

// True when the tokenizer maps bytes through GPT-2's byte-level alphabet (its decoder or
// pre-tokenizer, possibly inside a Sequence, is ByteLevel).
bool uses_byte_level(const json::Value& root) {
  auto is_byte_level = [](const json::Value* v, auto&& self) -> bool {
    if (!v || !v->is_object()) return false;
    const json::Value* type = v->find("type");
    if (type && type->is_string() && type->as_string() == "ByteLevel") return true;
    for (const char* list : {"decoders", "pretokenizers"}) {
      const json::Value* items = v->find(list);
      if (items && items->is_array())
        for (const json::Value& item : items->items())
          if (self(&item, self)) return true;
    }
    return false;
  };
  return is_byte_level(root.find("decoder"), is_byte_level) || is_byte_level(root.find("pre_tokenizer"), is_byte_level);
}

}  // namespace

std::vector<std::string> parse_token_bytes(const std::string& text, int vocab_size, const std::string& what) {
  const json::Value root = json::parse(text, what);
  const json::Value* model = root.find("model");
  const json::Value* vocab = model ? model->find("vocab") : nullptr;
  if (!vocab || !(vocab->is_object() || vocab->is_array()))
    throw Error(what + ": model.vocab is missing (not a BPE or Unigram tokenizer.json)");
  std::vector<std::string> bytes(static_cast<size_t>(vocab_size));
  const bool byte_level = uses_byte_level(root);
  const auto map = byte_level_decoder();
  std::string decoded;
  auto put = [&](int64_t id, const std::string& token) {
    if (id < 0 || id >= vocab_size) return;
    if (!byte_level) {
      bytes[static_cast<size_t>(id)] = sentencepiece_bytes(token);
    } else if (byte_level_bytes(token, map, decoded)) {
      bytes[static_cast<size_t>(id)] = decoded;
    }
  };
  if (vocab->is_object()) {  // BPE: {"token": id}
    for (const auto& [token, id] : vocab->members())
      if (id.is_integer()) put(id.as_int64(), token);
  } else {  // Unigram: [["piece", score], ...], the id is the index
    const auto& items = vocab->items();
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i].is_array() && !items[i].items().empty() && items[i].items()[0].is_string())
        put(static_cast<int64_t>(i), items[i].items()[0].as_string());
  }
  if (const json::Value* added = root.find("added_tokens"); added && added->is_array()) {
    for (const json::Value& t : added->items()) {
      const json::Value* id = t.find("id");
      const json::Value* content = t.find("content");
      const json::Value* special = t.find("special");
      if (!id || !id->is_integer() || id->as_int64() < 0 || id->as_int64() >= vocab_size) continue;
      const bool is_special = !special || !special->is_bool() || special->as_bool();
      // Added tokens are matched as text, not through the vocabulary's byte alphabet.
      bytes[static_cast<size_t>(id->as_int64())] = is_special || !content || !content->is_string() ? std::string() : content->as_string();
    }
  }
  return bytes;
}

std::vector<std::string> load_token_bytes(const std::string& tokenizer_json_path, int vocab_size) {
  return parse_token_bytes(read_text_file(tokenizer_json_path), vocab_size, tokenizer_json_path);
}

}  // namespace llm
