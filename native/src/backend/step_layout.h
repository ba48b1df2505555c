// How a GPU backend lays out one step's metadata (int32 words, uploaded in one copy), and the
// padded shape under which a pure-decode step can replay a CUDA graph. Host-only code, so the
// CPU build tests it (step_layout_test); the CUDA backend stages and launches with it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/backend.h"

namespace llm {

// Word offsets: per token its id, position, KV slot and sequence index; the block tables
// (seqs x blocks_per_seq); per logits row its token row, then its RowSampling.
struct StepShape {
  static constexpr size_t kSpecWords = sizeof(RowSampling) / 4;

  int tokens = 0, seqs = 0, blocks_per_seq = 0, rows = 0;
  int max_context = 0;  // sizes the attention split count

  size_t positions_at() const { return static_cast<size_t>(tokens); }
  size_t slots_at() const { return 2 * static_cast<size_t>(tokens); }
  size_t seq_at() const { return 3 * static_cast<size_t>(tokens); }
  size_t tables_at() const { return 4 * static_cast<size_t>(tokens); }
  size_t rows_at() const { return tables_at() + static_cast<size_t>(seqs) * blocks_per_seq; }
  size_t specs_at() const { return rows_at() + static_cast<size_t>(rows); }
  size_t words() const { return specs_at() + kSpecWords * static_cast<size_t>(rows); }
};

// The batch as it is.
StepShape exact_step_shape(const ForwardBatch& batch);

struct DecodeGraphLimits {
  int max_batch = 256;               // sequences (one lm_head GEMM)
  int min_context = 256;             // the attention partition: one split at least
  int partition = 256;               // keys per attention split
  size_t scratch_floats = 0;         // attention split scratch
  size_t split_floats_per_token = 0; // scratch one split of one token needs (heads x (head_dim + 2))
};

// A pure-decode step padded for a graph: batch to a power of two, context to a power of two (at
// least min_context), block tables to that context. False when the step is not pure decode, is
// too large, or its splits would not fit the scratch (the eager path would then change the
// partition, and a graph must compute exactly what the eager step does). The key identifies
// (batch, context): equal keys, equal shapes.
bool decode_graph_shape(const ForwardBatch& batch, int block_size, const DecodeGraphLimits& limits,
                        StepShape* shape, uint64_t* key);

// Writes `batch`'s metadata laid out as `shape` (shape.words() words). Past the batch: padding
// tokens (id 0, position 0, slot -1: no KV write, sequence = their own padding sequence, whose
// block table is all block 0) and padding rows (Host: never sampled, never copied).
void write_step_metadata(const ForwardBatch& batch, const StepShape& shape, int32_t* out);

}  // namespace llm
