// JS <-> C++ conversions for the addon, with argument checking: wrong types throw TypeError,
// out-of-range values RangeError, naming the offending field. Only called on the JS thread.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "llm/engine.h"

namespace addon {

llm::EngineOptions engine_options_from_js(const Napi::Value& v);
llm::RequestSpec request_from_js(const Napi::Value& v);
std::vector<int32_t> tokens_from_js(Napi::Env env, const Napi::Value& v, const std::string& field);

Napi::Array events_to_js(Napi::Env env, const std::vector<llm::RequestEvent>& events);
Napi::Object stats_to_js(Napi::Env env, const llm::EngineStats& s);
Napi::Object info_to_js(Napi::Env env, const llm::ModelInfo& info);

// Rethrows an engine error as a JS exception (RangeError for out-of-range values).
[[noreturn]] void throw_engine_error(Napi::Env env, const std::exception& e);

// Reads optional typed fields of a JS object.
class Fields {
 public:
  Fields(Napi::Env env, Napi::Object obj, std::string where) : env_(env), obj_(obj), where_(std::move(where)) {}
  bool has(const char* key) const;
  // The field's value, or an empty Napi::Value when it is undefined or null.
  Napi::Value value(const char* key) const;
  std::string string(const char* key, const std::string& fallback, bool required = false) const;
  int integer(const char* key, int fallback, double min, double max) const;
  double number(const char* key, double fallback, double min, double max) const;
  bool boolean(const char* key, bool fallback) const;
  Napi::Value get(const char* key) const { return obj_.Get(key); }
  std::string name(const char* key) const { return where_.empty() ? key : where_ + "." + key; }
  Napi::Env env() const { return env_; }

 private:
  Napi::Env env_;
  Napi::Object obj_;
  std::string where_;
};

}  // namespace addon
