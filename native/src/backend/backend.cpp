// make_backend: picks CPU or CUDA. Without LLM_WITH_CUDA the CUDA entry points are stubs that say
// the engine was built without CUDA, so the library (and the addon) load on any machine.
#include "backend/backend.h"

#include "backend/cpu/kernels.h"

#include "llm/error.h"

namespace llm {

#ifndef LLM_WITH_CUDA
bool cuda_device_available(std::string* reason) {
  if (reason) *reason = "built without CUDA";
  return false;
}

std::unique_ptr<Backend> make_cuda_backend(std::shared_ptr<const Model>, int) {
  throw Error("device 'cuda' requested but the engine was built without CUDA");
}
#endif

StepLogits Backend::forward_step(const ForwardBatch& batch, int vocab_size) {
  step_logits_.resize(batch.logits_indices.size() * static_cast<size_t>(vocab_size));
  forward(batch, step_logits_.data());
  StepLogits out{step_logits_.data(), nullptr};
  if (!batch.hidden_indices.empty()) {
    out.hidden = last_hidden_rows(batch);
    if (!out.hidden) throw Error("the " + name() + " backend returns no hidden states (embeddings)");
  }
  return out;
}

namespace {
std::string cpu_kernels_note(CpuWeights w) {
  const char* weights = w == CpuWeights::Int8       ? ", int8 weights"
                        : w == CpuWeights::Int8Bf16 ? ", int8 weights x bf16 activations"
                        : w == CpuWeights::Int4     ? ", int4 weights x int8 activations"
                                                    : "";
  return std::string(" (") + cpu::kernels().isa + " kernels" + weights + ")";
}
}  // namespace

std::unique_ptr<Backend> make_backend(std::shared_ptr<const Model> model,
                                      const BackendOptions& options, std::string* log) {
  if (!model) throw Error("make_backend: no model");
  const std::string& device = options.device;
  if (device != "auto" && device != "cpu" && device != "cuda")
    throw Error("unknown device '" + device + "' (expected auto, cpu or cuda)");
  const std::string& quant = options.quantization;
  if (quant != "none" && quant != "int8" && quant != "int8-bf16" && quant != "int4")
    throw Error("unknown quantization '" + quant + "' (expected none, int8, int8-bf16 or int4)");
  const bool quantized = quant != "none";  // CPU only
  const CpuWeights weights = quant == "int8"        ? CpuWeights::Int8
                             : quant == "int8-bf16" ? CpuWeights::Int8Bf16
                             : quant == "int4"      ? CpuWeights::Int4
                                                    : CpuWeights::Stored;

  if (device == "cuda" || device == "auto") {
    std::string reason;
    if (cuda_device_available(&reason)) {
      if (quantized)
        throw Error("quantization '" + quant + "' is implemented by the CPU backend only; this machine has a GPU: "
                    "use device 'cpu' for it, or no quantization on the GPU");
      auto backend = make_cuda_backend(model, options.cuda_device);
      if (log) *log = "using the CUDA backend (device " + std::to_string(options.cuda_device) + ")";
      return backend;
    }
    if (device == "cuda") throw Error("device 'cuda' requested but no GPU can be used: " + reason);
    auto backend = make_cpu_backend(model, options.threads, weights);
    if (log) *log = "no GPU (" + reason + "), using the CPU backend" + cpu_kernels_note(weights);
    return backend;
  }
  auto backend = make_cpu_backend(model, options.threads, weights);
  if (log) *log = "using the CPU backend" + cpu_kernels_note(weights);
  return backend;
}

}  // namespace llm
