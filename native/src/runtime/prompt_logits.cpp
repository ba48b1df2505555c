// All-position logits of one prefill: what the oracle test compares against llama.cpp.
#include <string>

#include "runtime/engine_impl.h"

namespace llm {

std::vector<float> prompt_logits(const ModelConfig& config, Backend& backend, const std::vector<int32_t>& tokens) {
  const int n = static_cast<int>(tokens.size());
  if (n == 0) throw Error("tokens must not be empty");
  if (config.max_position_embeddings > 0 && n > config.max_position_embeddings)
    throw Error("tokens has " + std::to_string(n) + " entries, the model's max_position_embeddings is " +
                std::to_string(config.max_position_embeddings));
  for (int i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= config.vocab_size)
      throw Error("token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                  " is outside the vocabulary (size " + std::to_string(config.vocab_size) + ")");
  const int block_size = 16;
  const int num_blocks = (n + block_size - 1) / block_size;
  backend.init_kv_cache(num_blocks, block_size);
  ForwardBatch b;
  b.block_size = block_size;
  b.max_blocks_per_seq = num_blocks;
  b.token_ids = tokens;
  for (int i = 0; i < n; ++i) {
    b.positions.push_back(i);
    b.slot_mapping.push_back(i);  // block i / bs holds positions [bs*(i/bs), ...)
    b.logits_indices.push_back(i);
  }
  b.query_start_loc = {0, n};
  b.seq_lens = {n};
  for (int i = 0; i < num_blocks; ++i) b.block_tables.push_back(i);
  std::vector<float> logits(static_cast<size_t>(n) * config.vocab_size);
  backend.forward(b, logits.data());
  return logits;
}

}  // namespace llm
