// Internal entry points of the runtime: build an Engine over an already-made model + backend
// (unit tests use a fake backend), and compute all-position logits over a backend.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "llm/engine.h"

namespace llm {

std::unique_ptr<Engine> create_engine(std::shared_ptr<const Model> model,
                                      std::unique_ptr<Backend> backend,
                                      const EngineOptions& options, EventSink events,
                                      LogSink log = nullptr);

// One prefill of `tokens` through `backend` (its KV cache is (re)initialised for it).
std::vector<float> prompt_logits(const ModelConfig& config, Backend& backend,
                                 const std::vector<int32_t>& tokens);

// Milliseconds since the Unix epoch.
double now_ms();

}  // namespace llm
