// A small strict JSON parser (RFC 8259) for config.json, safetensors headers and shard indexes.
// Rejects trailing commas, comments, NaN, control characters in strings, duplicate keys and
// nesting deeper than 128 levels; every defect is an llm::Error with the byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llm {
namespace json {

enum class Type { Null, Bool, Number, String, Array, Object };

const char* type_name(Type type);

class Value {
 public:
  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }
  // A number with no fraction that fits in int64 (1, 1.0 and 1e3 all qualify).
  bool is_integer() const;

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  int64_t as_int64() const { return static_cast<int64_t>(number_); }  // check is_integer() first
  const std::string& as_string() const { return string_; }
  const std::vector<Value>& items() const { return array_; }
  const std::vector<std::pair<std::string, Value>>& members() const { return object_; }

  // Object member by key, or nullptr (also when this is not an object).
  const Value* find(const std::string& key) const;

 private:
  friend class Parser;
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

// Parses exactly one JSON value (surrounded by optional whitespace). `what` names the source in
// error messages, e.g. "/models/x/config.json".
Value parse(const char* data, size_t size, const std::string& what);
inline Value parse(const std::string& text, const std::string& what) {
  return parse(text.data(), text.size(), what);
}

}  // namespace json
}  // namespace llm
