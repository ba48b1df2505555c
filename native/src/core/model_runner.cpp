#include "core/model_runner.h"

#include <algorithm>

#include "llm/error.h"

namespace llm {

StepBatch build_step_batch(const SchedulerOutput& out, int block_size) {
  StepBatch step;
  ForwardBatch& b = step.batch;
  b.block_size = block_size;
  const int num_seqs = static_cast<int>(out.scheduled.size());
  int max_blocks = 0;
  for (const ScheduledSeq& s : out.scheduled) {
    const int seq_len = s.seq->num_computed_tokens + s.num_tokens;
    max_blocks = std::max(max_blocks, (seq_len + block_size - 1) / block_size);
  }
  b.max_blocks_per_seq = max_blocks;
  b.block_tables.assign(static_cast<size_t>(num_seqs) * max_blocks, -1);
  b.query_start_loc.reserve(num_seqs + 1);
  b.query_start_loc.push_back(0);
  b.token_ids.reserve(out.num_batched_tokens);
  b.positions.reserve(out.num_batched_tokens);
  b.slot_mapping.reserve(out.num_batched_tokens);

  std::vector<int32_t> prompt_row_tokens;  // token rows of step.prompt_rows, appended last
  for (int i = 0; i < num_seqs; ++i) {
    const Sequence& seq = *out.scheduled[i].seq;
    const int start = seq.num_computed_tokens;
    const int n = out.scheduled[i].num_tokens;
    const int seq_len = start + n;
    const int need = (seq_len + block_size - 1) / block_size;
    if (n <= 0 || seq_len > seq.num_tokens() || static_cast<int>(seq.block_table.size()) < need)
      throw Error("model runner: sequence '" + seq.id + "' is not ready for its step");
    for (int p = start; p < seq_len; ++p) {
      // The row of position p scores prompt token p + 1 (once, also after a recompute).
      if (seq.sampling.prompt_logprobs >= 0 && p + 1 < seq.num_prompt_tokens && p + 1 >= seq.prompt_scored) {
        prompt_row_tokens.push_back(static_cast<int32_t>(b.token_ids.size()));
        step.prompt_rows.push_back({out.scheduled[i].seq, p + 1});
      }
      b.token_ids.push_back(seq.tokens[p]);
      b.positions.push_back(p);
      b.slot_mapping.push_back(seq.block_table[p / block_size] * block_size + p % block_size);
    }
    std::copy(seq.block_table.begin(), seq.block_table.begin() + need,
              b.block_tables.begin() + static_cast<size_t>(i) * max_blocks);
    b.seq_lens.push_back(seq_len);
    b.query_start_loc.push_back(static_cast<int32_t>(b.token_ids.size()));
    if (seq_len == seq.num_tokens() && seq.embed) {
      b.hidden_indices.push_back(static_cast<int32_t>(b.token_ids.size()) - 1);
      step.embedders.push_back(out.scheduled[i].seq);
    } else if (seq_len == seq.num_tokens()) {
      // One row for the next token, and one after each draft token (speculative decoding).
      const int rows = 1 + static_cast<int>(seq.draft.size());
      for (int r = rows; r >= 1; --r) {
        b.logits_indices.push_back(static_cast<int32_t>(b.token_ids.size()) - r);
        step.samplers.push_back(out.scheduled[i].seq);
      }
    }
  }
  b.logits_indices.insert(b.logits_indices.end(), prompt_row_tokens.begin(), prompt_row_tokens.end());
  return step;
}

}  // namespace llm
