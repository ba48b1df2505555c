// Flattens a scheduled step into the ForwardBatch every backend consumes: token ids, positions,
// KV slots, per-sequence token ranges, context lengths and block tables, and the rows whose
// logits are needed (the last token of each sequence that completes its tokens this step).
#pragma once

#include <vector>

#include "backend/backend.h"
#include "core/scheduler.h"

namespace llm {

struct StepBatch {
  ForwardBatch batch;
  std::vector<Sequence*> samplers;  // parallel to batch.logits_indices
};

StepBatch build_step_batch(const SchedulerOutput& out, int block_size);

}  // namespace llm
