// The GPU step metadata layout and the padded shapes of decode graphs (backend/step_layout.h):
// offsets, padding, table widths, keys and when a step cannot use a graph. Host-only.
#include <cstring>

#include "backend/step_layout.h"
#include "testing.h"

using namespace llm;

namespace {

// seqs[i] = {first position, tokens this step}; block tables: sequence i owns blocks 100 i + k.
ForwardBatch batch_of(const std::vector<std::pair<int, int>>& seqs, int block_size, int width) {
  ForwardBatch b;
  b.block_size = block_size;
  b.max_blocks_per_seq = width;
  b.query_start_loc.push_back(0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto [start, n] = seqs[i];
    for (int p = start; p < start + n; ++p) {
      b.token_ids.push_back(1000 + static_cast<int32_t>(i) * 10 + p);
      b.positions.push_back(p);
      b.slot_mapping.push_back(static_cast<int32_t>(i) * 100 * block_size + p);
    }
    b.query_start_loc.push_back(b.num_tokens());
    b.seq_lens.push_back(start + n);
    for (int k = 0; k < width; ++k) b.block_tables.push_back(k * block_size < start + n ? static_cast<int32_t>(i) * 100 + k : -1);
    b.logits_indices.push_back(b.num_tokens() - 1);
  }
  return b;
}

DecodeGraphLimits roomy() {
  DecodeGraphLimits lim;
  lim.scratch_floats = size_t{1} << 30;
  lim.split_floats_per_token = 32 * 66;
  return lim;
}

RowSampling draw(uint32_t key) {
  RowSampling r;
  r.kind = RowSampling::Draw;
  r.temperature = 0.5f;
  r.key_lo = key;
  r.top_k = 40;
  r.top_p = 0.95f;
  return r;
}

}  // namespace

TEST(exact_layout_holds_every_part_at_its_offset) {
  ForwardBatch b = batch_of({{0, 5}, {7, 1}}, 4, 3);  // a prefill chunk and a decode token
  b.row_sampling = {RowSampling{}, draw(9)};
  const StepShape s = exact_step_shape(b);
  EXPECT_EQ(s.tokens, 6);
  EXPECT_EQ(s.seqs, 2);
  EXPECT_EQ(s.rows, 2);
  EXPECT_EQ(s.max_context, 8);
  EXPECT_EQ(s.words(), size_t{4 * 6 + 2 * 3 + 2 + 10 * 2});  // RowSampling: 10 words
  std::vector<int32_t> w(s.words(), -7);
  write_step_metadata(b, s, w.data());
  EXPECT_EQ(std::vector<int32_t>(w.begin(), w.begin() + 6), b.token_ids);
  EXPECT_EQ(std::vector<int32_t>(w.begin() + s.positions_at(), w.begin() + s.positions_at() + 6), b.positions);
  EXPECT_EQ(std::vector<int32_t>(w.begin() + s.slots_at(), w.begin() + s.slots_at() + 6), b.slot_mapping);
  EXPECT_EQ(std::vector<int32_t>(w.begin() + s.seq_at(), w.begin() + s.seq_at() + 6), (std::vector<int32_t>{0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(std::vector<int32_t>(w.begin() + s.tables_at(), w.begin() + s.rows_at()), b.block_tables);
  EXPECT_EQ(std::vector<int32_t>(w.begin() + s.rows_at(), w.begin() + s.specs_at()), b.logits_indices);
  RowSampling got;
  std::memcpy(static_cast<void*>(&got), w.data() + s.specs_at() + StepShape::kSpecWords, sizeof got);
  EXPECT_EQ(got.kind, int32_t{RowSampling::Draw});
  EXPECT_EQ(got.key(), uint64_t{9});
  EXPECT_EQ(got.top_k, 40);
  EXPECT_EQ(got.top_p, 0.95f);
  std::memcpy(static_cast<void*>(&got), w.data() + s.specs_at(), sizeof got);
  EXPECT_EQ(got.kind, int32_t{RowSampling::Host});
}

TEST(decode_graph_pads_batch_and_context_to_powers_of_two) {
  ForwardBatch b = batch_of({{100, 1}, {40, 1}, {299, 1}}, 16, 19);
  b.row_sampling = {draw(1), draw(2), draw(3)};
  StepShape s;
  uint64_t key = 0;
  CHECK(decode_graph_shape(b, 16, roomy(), &s, &key));
  EXPECT_EQ(s.tokens, 4);
  EXPECT_EQ(s.seqs, 4);
  EXPECT_EQ(s.rows, 4);
  EXPECT_EQ(s.max_context, 512);        // 300 -> 512
  EXPECT_EQ(s.blocks_per_seq, 32);      // 512 / 16
  std::vector<int32_t> w(s.words(), -7);
  write_step_metadata(b, s, w.data());
  // The padding token: id 0, position 0, no KV write, its own padding sequence (3), all block 0.
  EXPECT_EQ(w[3], 0);
  EXPECT_EQ(w[s.positions_at() + 3], 0);
  EXPECT_EQ(w[s.slots_at() + 3], -1);
  EXPECT_EQ(w[s.seq_at() + 3], 3);
  for (int k = 0; k < 32; ++k) EXPECT_EQ(w[s.tables_at() + 3 * 32 + k], 0);
  // A real table keeps its blocks and is padded with -1 to the graph's width.
  EXPECT_EQ(w[s.tables_at() + 2 * 32 + 18], 218);
  EXPECT_EQ(w[s.tables_at() + 2 * 32 + 19], -1);
  EXPECT_EQ(w[s.tables_at() + 2 * 32 + 31], -1);
  // The padding row points at the padding token and is never sampled.
  EXPECT_EQ(w[s.rows_at() + 3], 3);
  RowSampling pad;
  std::memcpy(static_cast<void*>(&pad), w.data() + s.specs_at() + 3 * StepShape::kSpecWords, sizeof pad);
  EXPECT_EQ(pad.kind, int32_t{RowSampling::Host});
}

TEST(a_table_wider_than_the_graph_context_is_cut_to_it) {
  // A caller may size tables for longer contexts than the step has (engine-bench does).
  ForwardBatch b = batch_of({{130, 1}}, 16, 40);
  StepShape s;
  uint64_t key = 0;
  CHECK(decode_graph_shape(b, 16, roomy(), &s, &key));
  EXPECT_EQ(s.blocks_per_seq, 16);  // context 256
  std::vector<int32_t> w(s.words(), -7);
  write_step_metadata(b, s, w.data());
  for (int k = 0; k < 9; ++k) EXPECT_EQ(w[s.tables_at() + k], k);  // 131 tokens: blocks 0..8
  EXPECT_EQ(w[s.tables_at() + 9], -1);
  EXPECT_EQ(s.words(), size_t{4 * 1 + 16 + 1 + StepShape::kSpecWords});
}

TEST(graph_keys_tell_contexts_apart_for_every_block_size) {
  for (int bs = 16; bs <= 1024; bs *= 2) {
    std::vector<uint64_t> keys;
    for (int pos : {10, 300, 700, 1500, 3000}) {
      ForwardBatch b = batch_of({{pos, 1}}, bs, (pos + bs) / bs);
      StepShape s;
      uint64_t key = 0;
      CHECK(decode_graph_shape(b, bs, roomy(), &s, &key));
      EXPECT(s.blocks_per_seq * bs >= s.max_context);
      for (uint64_t k : keys) EXPECT(k != key);
      keys.push_back(key);
    }
  }
}

TEST(steps_a_graph_cannot_run) {
  StepShape s;
  uint64_t key = 0;
  EXPECT(!decode_graph_shape(batch_of({{0, 5}, {7, 1}}, 16, 1), 16, roomy(), &s, &key));  // prefill
  std::vector<std::pair<int, int>> many(257, {3, 1});
  EXPECT(!decode_graph_shape(batch_of(many, 16, 1), 16, roomy(), &s, &key));  // > 256 sequences
  ForwardBatch swapped = batch_of({{3, 1}, {4, 1}}, 16, 1);
  std::swap(swapped.logits_indices[0], swapped.logits_indices[1]);
  EXPECT(!decode_graph_shape(swapped, 16, roomy(), &s, &key));  // rows not in token order
  DecodeGraphLimits tight = roomy();
  tight.scratch_floats = 4 * tight.split_floats_per_token;  // 4 sequences x 1 split
  EXPECT(decode_graph_shape(batch_of({{100, 1}, {5, 1}, {9, 1}}, 16, 7), 16, tight, &s, &key));
  EXPECT(!decode_graph_shape(batch_of({{300, 1}, {5, 1}, {9, 1}}, 16, 19), 16, tight, &s, &key));  // 2 splits
}
