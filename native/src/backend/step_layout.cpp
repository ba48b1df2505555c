#include "backend/step_layout.h"

#include <algorithm>
#include <cstring>

namespace llm {

static_assert(sizeof(RowSampling) % 4 == 0 && alignof(RowSampling) == 4, "RowSampling is packed in int32 words");

namespace {

int next_pow2(int x) {
  int p = 1;
  while (p < x) p <<= 1;
  return p;
}

int max_context_of(const ForwardBatch& b) {
  int m = 0;
  for (int32_t p : b.positions) m = std::max(m, p + 1);
  return m;
}

}  // namespace

StepShape exact_step_shape(const ForwardBatch& b) {
  StepShape s;
  s.tokens = b.num_tokens();
  s.seqs = b.num_seqs();
  s.blocks_per_seq = b.max_blocks_per_seq;
  s.rows = static_cast<int>(b.logits_indices.size());
  s.max_context = max_context_of(b);
  return s;
}

bool decode_graph_shape(const ForwardBatch& b, int block_size, const DecodeGraphLimits& lim, StepShape* shape,
                        uint64_t* key) {
  if (!b.is_decode_only() || block_size <= 0 || lim.split_floats_per_token == 0) return false;
  const int S = b.num_seqs();
  if (S <= 0 || S > lim.max_batch || static_cast<int>(b.logits_indices.size()) != S) return false;
  for (int i = 0; i < S; ++i)
    if (b.logits_indices[i] != i) return false;
  const int B = next_pow2(S);
  const int C = std::max(lim.min_context, next_pow2(max_context_of(b)));
  const size_t max_splits = lim.scratch_floats / (static_cast<size_t>(B) * lim.split_floats_per_token);
  if (static_cast<size_t>((C + lim.partition - 1) / lim.partition) > max_splits) return false;
  StepShape s;
  s.tokens = s.seqs = s.rows = B;
  s.blocks_per_seq = (C + block_size - 1) / block_size;  // every sequence needs at most this many
  s.max_context = C;
  *shape = s;
  *key = (static_cast<uint64_t>(B) << 32) | static_cast<uint32_t>(C);
  return true;
}

void write_step_metadata(const ForwardBatch& b, const StepShape& s, int32_t* out) {
  const int T = b.num_tokens(), S = b.num_seqs(), R = static_cast<int>(b.logits_indices.size());
  int32_t* tokens = out;
  int32_t* pos = out + s.positions_at();
  int32_t* slots = out + s.slots_at();
  int32_t* seq = out + s.seq_at();
  int32_t* tables = out + s.tables_at();
  int32_t* rows = out + s.rows_at();
  int32_t* specs = out + s.specs_at();
  std::memcpy(tokens, b.token_ids.data(), T * sizeof(int32_t));
  std::memcpy(pos, b.positions.data(), T * sizeof(int32_t));
  std::memcpy(slots, b.slot_mapping.data(), T * sizeof(int32_t));
  for (int i = 0; i < S; ++i)
    for (int t = b.query_start_loc[i]; t < b.query_start_loc[i + 1]; ++t) seq[t] = i;
  for (int t = T; t < s.tokens; ++t) {
    tokens[t] = 0;
    pos[t] = 0;
    slots[t] = -1;
    seq[t] = S + (t - T);
  }
  // A sequence's entries past its context are never read, so a table wider than the shape is cut.
  const int width = std::min(b.max_blocks_per_seq, s.blocks_per_seq);
  for (int i = 0; i < s.seqs; ++i) {
    int32_t* row = tables + static_cast<size_t>(i) * s.blocks_per_seq;
    if (i < S) {
      std::memcpy(row, b.block_tables.data() + static_cast<size_t>(i) * b.max_blocks_per_seq, width * sizeof(int32_t));
      std::fill(row + width, row + s.blocks_per_seq, -1);
    } else {
      std::fill(row, row + s.blocks_per_seq, 0);
    }
  }
  std::memcpy(rows, b.logits_indices.data(), R * sizeof(int32_t));
  for (int r = R; r < s.rows; ++r) rows[r] = T + (r - R);
  for (int r = 0; r < s.rows; ++r) {
    const RowSampling spec = r < static_cast<int>(b.row_sampling.size()) ? b.row_sampling[r] : RowSampling{};
    std::memcpy(specs + StepShape::kSpecWords * r, &spec, sizeof spec);
  }
}

}  // namespace llm
