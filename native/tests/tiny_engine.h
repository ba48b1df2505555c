// A whole engine over the real CPU backend (1 thread) and the tiny fixture model, with a KV cache
// of exactly `kv_blocks` blocks of 16 tokens and its events in a Collector. Skips the test (exit
// 77) when the fixture is absent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "collector.h"
#include "model/model.h"
#include "runtime/engine_impl.h"
#include "sampling/rng.h"
#include "testing.h"

struct TinyEngine {
  Collector col;
  std::unique_ptr<llm::Engine> engine;

  // `options` without model_path and kv_cache_bytes (set here).
  TinyEngine(llm::EngineOptions options, int kv_blocks) {
    const std::string dir = testing::model_dir();
    if (dir.empty()) SKIP("tiny model fixture not found (set LLM_TEST_MODEL_DIR)");
    auto model = llm::Model::load(dir);
    std::unique_ptr<llm::Backend> backend = llm::make_cpu_backend(model, 1);
    options.model_path = dir;
    options.kv_cache_bytes = static_cast<int64_t>(backend->kv_block_bytes(16)) * kv_blocks;
    engine = llm::create_engine(model, std::move(backend), options, col.sink());
  }
};

// `len` byte tokens (0..255, the fixture's byte-level vocabulary) from `seed`.
inline std::vector<int32_t> byte_prompt(uint64_t seed, int len) {
  std::vector<int32_t> p;
  for (int i = 0; i < len; ++i) p.push_back(static_cast<int32_t>(llm::Rng::splitmix64(seed) % 256));
  return p;
}
