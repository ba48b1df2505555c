#include "convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace addon {

namespace {
[[noreturn]] void type_error(Napi::Env env, const std::string& m) { throw Napi::TypeError::New(env, m); }
[[noreturn]] void range_error(Napi::Env env, const std::string& m) { throw Napi::RangeError::New(env, m); }
}  // namespace

void throw_engine_error(Napi::Env env, const std::exception& e) {
  const std::string m = e.what();
  static const char* kRange[] = {"outside the vocabulary", "must be", "shorter than", "exceeds", "too small"};
  for (const char* k : kRange)
    if (m.find(k) != std::string::npos) range_error(env, m);
  throw Napi::Error::New(env, m);
}

// One property lookup per field (a has() + get() pair would cost two or three): undefined and
// null both mean "not given".
Napi::Value Fields::value(const char* key) const {
  Napi::Value v = obj_.Get(key);
  return v.IsUndefined() || v.IsNull() ? Napi::Value() : v;
}

bool Fields::has(const char* key) const { return !value(key).IsEmpty(); }

std::string Fields::string(const char* key, const std::string& fallback, bool required) const {
  Napi::Value v = value(key);
  if (v.IsEmpty()) {
    if (required) type_error(env_, name(key) + " is required and must be a string");
    return fallback;
  }
  if (!v.IsString()) type_error(env_, name(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double Fields::number(const char* key, double fallback, double min, double max) const {
  Napi::Value v = value(key);
  if (v.IsEmpty()) return fallback;
  if (!v.IsNumber()) type_error(env_, name(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) range_error(env_, name(key) + " must be a finite number");
  if (d < min || d > max)
    range_error(env_, name(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                          " (got " + std::to_string(d) + ")");
  return d;
}

int Fields::integer(const char* key, int fallback, double min, double max) const {
  Napi::Value v = value(key);
  if (v.IsEmpty()) return fallback;
  if (!v.IsNumber()) type_error(env_, name(key) + " must be an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) type_error(env_, name(key) + " must be an integer");
  if (d < min || d > max)
    range_error(env_, name(key) + " must be between " + std::to_string(static_cast<long long>(min)) + " and " +
                          std::to_string(static_cast<long long>(max)) + " (got " +
                          std::to_string(static_cast<long long>(d)) + ")");
  return static_cast<int>(d);
}

bool Fields::boolean(const char* key, bool fallback) const {
  Napi::Value v = value(key);
  if (v.IsEmpty()) return fallback;
  if (!v.IsBoolean()) type_error(env_, name(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::vector<int32_t> tokens_from_js(Napi::Env env, const Napi::Value& v, const std::string& field) {
  std::vector<int32_t> out;
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_int32_array) type_error(env, field + " must be an array of integers or an Int32Array");
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
    return out;
  }
  if (!v.IsArray()) type_error(env, field + " must be an array of integers or an Int32Array");
  Napi::Array a = v.As<Napi::Array>();
  const uint32_t n = a.Length();
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) type_error(env, field + "[" + std::to_string(i) + "] must be an integer");
    const double d = x.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) type_error(env, field + "[" + std::to_string(i) + "] must be an integer");
    if (d < -2147483648.0 || d > 2147483647.0) range_error(env, field + "[" + std::to_string(i) + "] is out of range");
    out.push_back(static_cast<int32_t>(d));
  }
  return out;
}

llm::EngineOptions engine_options_from_js(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) type_error(env, "Engine options must be an object");
  Fields f(env, v.As<Napi::Object>(), "");
  llm::EngineOptions o;
  o.model_path = f.string("modelPath", "", true);
  o.max_num_seqs = f.integer("maxNumSeqs", o.max_num_seqs, 1, 1 << 20);
  o.max_num_batched_tokens = f.integer("maxNumBatchedTokens", o.max_num_batched_tokens, 1, 1 << 24);
  o.max_model_len = f.integer("maxModelLen", o.max_model_len, 0, 1 << 24);
  o.block_size = f.integer("blockSize", o.block_size, 1, 1024);
  o.kv_cache_bytes = static_cast<int64_t>(f.number("kvCacheBytes", 0, 0, 9.0e15));
  o.kv_cache_fraction = f.number("kvCacheFraction", o.kv_cache_fraction, 1e-6, 1.0);
  o.threads = f.integer("threads", o.threads, 0, 4096);
  o.device = f.string("device", o.device);
  if (o.device != "auto" && o.device != "cpu" && o.device != "cuda")
    range_error(env, "device must be 'auto', 'cpu' or 'cuda' (got '" + o.device + "')");
  o.quantization = f.string("quantization", o.quantization);
  if (o.quantization != "none" && o.quantization != "int8" && o.quantization != "int8-bf16" && o.quantization != "int4")
    range_error(env, "quantization must be 'none', 'int8', 'int8-bf16' or 'int4' (got '" + o.quantization + "')");
  o.speculative_tokens = f.integer("speculativeTokens", o.speculative_tokens, 0, 64);
  o.enable_prefix_caching = f.boolean("enablePrefixCaching", o.enable_prefix_caching);
  return o;
}

static void parse_logit_bias(const Fields& f, llm::SamplingParams& p) {
  Napi::Value v = f.value("logitBias");
  if (v.IsEmpty()) return;
  Napi::Env env = f.env();
  auto add = [&](const std::string& key_desc, double id, Napi::Value bias) {
    if (!std::isfinite(id) || std::floor(id) != id) type_error(env, f.name("logitBias") + " key " + key_desc + " is not a token id");
    if (!bias.IsNumber()) type_error(env, f.name("logitBias") + "[" + key_desc + "] must be a number");
    if (id < 0 || id > 2147483647.0) range_error(env, f.name("logitBias") + " token " + key_desc + " is out of range");
    p.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(bias.As<Napi::Number>().DoubleValue()));
  };
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      if (!e.IsArray() || e.As<Napi::Array>().Length() != 2 || !e.As<Napi::Array>().Get(0u).IsNumber())
        type_error(env, f.name("logitBias") + " entries must be [tokenId, bias] pairs");
      Napi::Array pair = e.As<Napi::Array>();
      add(std::to_string(i), pair.Get(0u).As<Napi::Number>().DoubleValue(), pair.Get(1u));
    }
  } else if (v.IsObject()) {
    Napi::Object o = v.As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string k = keys.Get(i).ToString().Utf8Value();
      char* end = nullptr;
      const double id = std::strtod(k.c_str(), &end);
      if (k.empty() || *end != '\0') type_error(env, f.name("logitBias") + " key '" + k + "' is not a token id");
      add(k, id, o.Get(k));
    }
  } else {
    type_error(env, f.name("logitBias") + " must be an object {tokenId: bias} or an array of [tokenId, bias]");
  }
}

static llm::SamplingParams sampling_from_js(Napi::Env env, const Napi::Value& v) {
  llm::SamplingParams p;
  if (v.IsUndefined() || v.IsNull()) return p;
  if (!v.IsObject()) type_error(env, "sampling must be an object");
  Fields f(env, v.As<Napi::Object>(), "sampling");
  p.temperature = static_cast<float>(f.number("temperature", p.temperature, 0, 1e6));
  p.top_k = f.integer("topK", p.top_k, -1, 1 << 30);
  if (p.top_k < 0) p.top_k = 0;  // -1 (vLLM's "disabled") is accepted
  p.top_p = static_cast<float>(f.number("topP", p.top_p, 0, 1));
  p.min_p = static_cast<float>(f.number("minP", p.min_p, 0, 1));
  p.repetition_penalty = static_cast<float>(f.number("repetitionPenalty", p.repetition_penalty, 0, 1e6));
  p.presence_penalty = static_cast<float>(f.number("presencePenalty", p.presence_penalty, -1e6, 1e6));
  p.frequency_penalty = static_cast<float>(f.number("frequencyPenalty", p.frequency_penalty, -1e6, 1e6));
  parse_logit_bias(f, p);
  if (Napi::Value s = f.value("seed"); !s.IsEmpty()) {
    if (s.IsBigInt()) {
      bool lossless = false;
      p.seed = s.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) range_error(env, "sampling.seed must fit in 64 bits");
    } else {
      p.seed = static_cast<uint64_t>(f.number("seed", 0, 0, 9007199254740991.0));
      if (std::floor(s.As<Napi::Number>().DoubleValue()) != s.As<Napi::Number>().DoubleValue())
        type_error(env, "sampling.seed must be an integer");
    }
  }
  if (Napi::Value v = f.value("stopTokenIds"); !v.IsEmpty())
    p.stop_token_ids = tokens_from_js(env, v, "sampling.stopTokenIds");
  p.max_tokens = f.integer("maxTokens", p.max_tokens, -2147483648.0, 2147483647.0);
  if (p.max_tokens < 0) range_error(env, "sampling.maxTokens must be >= 0 (got " + std::to_string(p.max_tokens) + ")");
  p.min_tokens = f.integer("minTokens", p.min_tokens, 0, 2147483647.0);
  p.ignore_eos = f.boolean("ignoreEos", p.ignore_eos);
  if (Napi::Value lp = f.value("logprobs"); !lp.IsEmpty()) {
    if (lp.IsBoolean()) p.logprobs = lp.As<Napi::Boolean>().Value() ? 0 : -1;
    else p.logprobs = f.integer("logprobs", -1, -1, 20);
  }
  p.prompt_logprobs = f.integer("promptLogprobs", -1, -1, 20);
  const std::string format = f.string("responseFormat", "text");
  if (format == "json_object") p.format = llm::OutputFormat::JsonObject;
  else if (format == "json_schema") p.format = llm::OutputFormat::JsonSchema;
  else if (format == "choice") p.format = llm::OutputFormat::Choice;
  else if (format != "text")
    range_error(env, "sampling.responseFormat must be 'text', 'json_object', 'json_schema' or 'choice' (got '" + format + "')");
  p.json_schema = f.string("jsonSchema", "");
  if (Napi::Value c = f.value("choices"); !c.IsEmpty()) {
    if (!c.IsArray()) type_error(env, "sampling.choices must be an array of strings");
    Napi::Array a = c.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value s = a.Get(i);
      if (!s.IsString()) type_error(env, "sampling.choices must be an array of strings");
      p.choices.push_back(s.As<Napi::String>().Utf8Value());
    }
  }
  return p;
}

llm::RequestSpec request_from_js(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) type_error(env, "request must be an object");
  Fields f(env, v.As<Napi::Object>(), "");
  llm::RequestSpec r;
  r.id = f.string("id", "", true);
  Napi::Value prompt = f.value("promptTokens");
  if (prompt.IsEmpty()) type_error(env, "promptTokens is required (an array of token ids)");
  r.prompt_tokens = tokens_from_js(env, prompt, "promptTokens");
  r.priority = f.integer("priority", 0, -1e9, 1e9);
  r.cache_salt = f.string("cacheSalt", "");
  r.embed = f.boolean("embed", false);
  r.sampling = sampling_from_js(env, f.get("sampling"));
  return r;
}

static Napi::Array ints_to_js(Napi::Env env, const std::vector<int32_t>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v[i]));
  return a;
}

static Napi::Array logprobs_to_js(Napi::Env env, const std::vector<llm::TokenLogprob>& logprobs) {
  Napi::Array lps = Napi::Array::New(env, logprobs.size());
  for (size_t j = 0; j < logprobs.size(); ++j) {
    const llm::TokenLogprob& lp = logprobs[j];
    Napi::Object x = Napi::Object::New(env);
    x.Set("token", lp.token);
    x.Set("logprob", lp.logprob);
    Napi::Array top = Napi::Array::New(env, lp.top.size());
    for (size_t k = 0; k < lp.top.size(); ++k) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("token", lp.top[k].first);
      t.Set("logprob", lp.top[k].second);
      top.Set(static_cast<uint32_t>(k), t);
    }
    x.Set("top", top);
    lps.Set(static_cast<uint32_t>(j), x);
  }
  return lps;
}

Napi::Array events_to_js(Napi::Env env, const std::vector<llm::RequestEvent>& events) {
  Napi::Array arr = Napi::Array::New(env, events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const llm::RequestEvent& e = events[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", e.id);
    o.Set("newTokens", ints_to_js(env, e.new_tokens));
    if (!e.logprobs.empty()) o.Set("logprobs", logprobs_to_js(env, e.logprobs));
    if (!e.prompt_logprobs.empty()) o.Set("promptLogprobs", logprobs_to_js(env, e.prompt_logprobs));
    if (!e.embedding.empty()) {
      Napi::Float32Array v = Napi::Float32Array::New(env, e.embedding.size());
      std::copy(e.embedding.begin(), e.embedding.end(), v.Data());
      o.Set("embedding", v);
    }
    o.Set("finished", e.finished);
    if (e.finished) {
      o.Set("reason", llm::finish_reason_name(e.reason));
      if (e.reason == llm::FinishReason::Error) o.Set("error", e.error);
      o.Set("promptTokens", e.prompt_tokens);
      o.Set("cachedPromptTokens", e.cached_prompt_tokens);
      o.Set("generatedTokens", e.generated_tokens);
      Napi::Object t = Napi::Object::New(env);
      t.Set("queuedMs", e.timings.queued_ms);
      t.Set("scheduledMs", e.timings.scheduled_ms);
      t.Set("firstTokenMs", e.timings.first_token_ms);
      t.Set("finishedMs", e.timings.finished_ms);
      o.Set("timings", t);
    }
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

Napi::Object stats_to_js(Napi::Env env, const llm::EngineStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("running", s.running);
  o.Set("waiting", s.waiting);
  o.Set("kvBlocksUsed", s.kv_blocks_used);
  o.Set("kvBlocksTotal", s.kv_blocks_total);
  o.Set("prefixCacheQueries", static_cast<double>(s.prefix_cache_queries));
  o.Set("prefixCacheHits", static_cast<double>(s.prefix_cache_hits));
  o.Set("preemptions", static_cast<double>(s.preemptions));
  o.Set("steps", static_cast<double>(s.steps));
  o.Set("promptTokens", static_cast<double>(s.prompt_tokens));
  o.Set("generationTokens", static_cast<double>(s.generation_tokens));
  o.Set("specDraftTokens", static_cast<double>(s.spec_draft_tokens));
  o.Set("specAcceptedTokens", static_cast<double>(s.spec_accepted_tokens));
  o.Set("lastStepMs", s.last_step_ms);
  return o;
}

Napi::Object info_to_js(Napi::Env env, const llm::ModelInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", info.path);
  o.Set("backend", info.backend);
  o.Set("quantization", info.quantization);
  o.Set("embeddings", info.embeddings);
  o.Set("vocabSize", info.vocab_size);
  o.Set("maxModelLen", info.max_model_len);
  o.Set("bosTokenId", info.bos_token_id);
  o.Set("eosTokenIds", ints_to_js(env, info.eos_token_ids));
  o.Set("hiddenSize", info.hidden_size);
  o.Set("numLayers", info.num_layers);
  return o;
}

}  // namespace addon
