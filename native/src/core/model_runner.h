// Flattens a scheduled step into the ForwardBatch every backend consumes: token ids, positions,
// KV slots, per-sequence token ranges, context lengths and block tables, and the rows whose
// logits are needed (the last token of each sequence that completes its tokens this step).
#pragma once

#include <vector>

#include "backend/backend.h"
#include "core/scheduler.h"

namespace llm {

// A logits row that scores a prompt token (prompt_logprobs): the row of position - 1.
struct PromptRow {
  Sequence* seq = nullptr;
  int position = 0;
};

struct StepBatch {
  ForwardBatch batch;
  std::vector<Sequence*> samplers;     // the first rows of batch.logits_indices, in order
  std::vector<PromptRow> prompt_rows;  // the rows after them
  std::vector<Sequence*> embedders;    // parallel to batch.hidden_indices: embed requests done now
};

StepBatch build_step_batch(const SchedulerOutput& out, int block_size);

}  // namespace llm
