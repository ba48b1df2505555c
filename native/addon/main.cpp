// The llm_engine.node module: Engine (see engine_wrap.h), computeLogits, cudaAvailable,
// checkJsonSchema.
#include <napi.h>

#include "convert.h"
#include "engine_wrap.h"
#include "gpu_stats.h"
#include "backend/backend.h"
#include "llm/error.h"
#include "sampling/json_schema.h"

namespace addon {
namespace {

// computeLogits({ modelPath, tokens, device?, threads?, quantization? }) -> Float32Array(tokens.length * vocab)
Napi::Value ComputeLogits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "computeLogits({ modelPath, tokens, device?, threads?, quantization? }): an object is required");
  Fields f(env, info[0].As<Napi::Object>(), "");
  const std::string path = f.string("modelPath", "", true);
  if (!f.has("tokens")) throw Napi::TypeError::New(env, "tokens is required (an array of token ids)");
  std::vector<int32_t> tokens = tokens_from_js(env, f.get("tokens"), "tokens");
  const std::string device = f.string("device", "cpu");
  if (device != "auto" && device != "cpu" && device != "cuda")
    throw Napi::RangeError::New(env, "device must be 'auto', 'cpu' or 'cuda' (got '" + device + "')");
  const int threads = f.integer("threads", 0, 0, 4096);
  const std::string quantization = f.string("quantization", "none");
  if (quantization != "none" && quantization != "int8" && quantization != "int8-bf16" && quantization != "int4")
    throw Napi::RangeError::New(
        env, "quantization must be 'none', 'int8', 'int8-bf16' or 'int4' (got '" + quantization + "')");
  std::vector<float> logits;
  try {
    logits = llm::compute_prompt_logits(path, tokens, device, threads, nullptr, quantization);
  } catch (const std::exception& e) {
    throw_engine_error(env, e);
  }
  Napi::Float32Array out = Napi::Float32Array::New(env, logits.size());
  std::copy(logits.begin(), logits.end(), out.Data());
  return out;
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string reason;
  bool ok = false;
  try {
    ok = llm::cuda_device_available(&reason);
  } catch (const std::exception& e) {
    reason = e.what();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", ok);
  o.Set("reason", reason);
  return o;
}

// checkJsonSchema(text) -> null, or the reason the schema is outside the supported subset. The
// gateway asks before admitting a request, so a bad schema is a 400 rather than a failed choice.
Napi::Value CheckJsonSchema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(env, "checkJsonSchema(text): a string is required");
  try {
    llm::JsonSchema::compile_cached(info[0].As<Napi::String>().Utf8Value());  // the engine reuses it
  } catch (const llm::Error& e) {
    return Napi::String::New(env, e.what());
  }
  return env.Null();
}

}  // namespace
}  // namespace addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", addon::EngineWrap::Init(env));
  exports.Set("computeLogits", Napi::Function::New(env, addon::ComputeLogits, "computeLogits"));
  exports.Set("cudaAvailable", Napi::Function::New(env, addon::CudaAvailable, "cudaAvailable"));
  exports.Set("gpuStats", Napi::Function::New(env, addon::GpuStats, "gpuStats"));
  exports.Set("gpuInfo", Napi::Function::New(env, addon::GpuInfo, "gpuInfo"));
  exports.Set("checkJsonSchema", Napi::Function::New(env, addon::CheckJsonSchema, "checkJsonSchema"));
  return exports;
}

NODE_API_MODULE(llm_engine, InitModule)
