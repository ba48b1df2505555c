// The public entry points that load a model from disk and pick a backend (kept apart from the
// engine loop so tests can run the loop over a fake backend without linking a real one).
#include "runtime/engine_impl.h"

namespace llm {

std::unique_ptr<Engine> Engine::create(const EngineOptions& options, EventSink events, LogSink log) {
  if (options.model_path.empty()) throw Error("modelPath is required");
  auto model = Model::load(options.model_path);
  BackendOptions bo;
  bo.device = options.device;
  bo.threads = options.threads;
  bo.quantization = options.quantization;
  std::string backend_log;
  auto backend = make_backend(model, bo, &backend_log);
  if (log && !backend_log.empty()) log(backend_log);
  return create_engine(std::move(model), std::move(backend), options, std::move(events), std::move(log));
}

std::vector<float> compute_prompt_logits(const std::string& model_path, const std::vector<int32_t>& tokens,
                                         const std::string& device, int threads, int* vocab_size,
                                         const std::string& quantization) {
  if (model_path.empty()) throw Error("modelPath is required");
  if (threads < 0) throw Error("threads must be >= 0");
  auto model = Model::load(model_path);
  BackendOptions bo;
  bo.device = device;
  bo.threads = threads;
  bo.quantization = quantization;
  auto backend = make_backend(model, bo, nullptr);
  if (vocab_size) *vocab_size = model->config().vocab_size;
  return prompt_logits(model->config(), *backend, tokens);
}

}  // namespace llm
