// ModelRunner: the ForwardBatch metadata of a mixed prefill + decode step.
#include <memory>

#include "core/model_runner.h"
#include "testing.h"

using namespace llm;

TEST(flattens_prefill_chunks_and_decodes) {
  BlockManager bm(16, 4, false);
  Scheduler sched({8, 7, true}, bm);
  auto mk = [&](const std::string& id, std::vector<int32_t> t, uint64_t arrival) {
    auto s = std::make_unique<Sequence>();
    s->id = id;
    s->arrival = arrival;
    s->tokens = std::move(t);
    s->num_prompt_tokens = s->num_tokens();
    return sched.add(std::move(s));
  };
  Sequence* a = mk("a", {10, 11, 12, 13, 14}, 0);
  auto out = sched.schedule();
  StepBatch sb = build_step_batch(out, 4);
  EXPECT_EQ(sb.batch.token_ids, (std::vector<int32_t>{10, 11, 12, 13, 14}));
  EXPECT_EQ(sb.batch.positions, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  const int b0 = a->block_table[0], b1 = a->block_table[1];
  EXPECT_EQ(sb.batch.slot_mapping, (std::vector<int32_t>{b0 * 4, b0 * 4 + 1, b0 * 4 + 2, b0 * 4 + 3, b1 * 4}));
  EXPECT_EQ(sb.batch.logits_indices, (std::vector<int32_t>{4}));
  sched.on_computed(out);
  a->tokens.push_back(15);

  Sequence* b = mk("b", {20, 21, 22, 23, 24, 25, 26, 27}, 1);
  out = sched.schedule();  // a decodes 1, b prefills a chunk of 6 (budget 7)
  sb = build_step_batch(out, 4);
  const ForwardBatch& f = sb.batch;
  EXPECT_EQ(f.num_seqs(), 2);
  EXPECT_EQ(f.num_tokens(), 7);
  EXPECT(!f.is_decode_only());
  EXPECT_EQ(f.token_ids, (std::vector<int32_t>{15, 20, 21, 22, 23, 24, 25}));
  EXPECT_EQ(f.positions, (std::vector<int32_t>{5, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(f.query_start_loc, (std::vector<int32_t>{0, 1, 7}));
  EXPECT_EQ(f.seq_lens, (std::vector<int32_t>{6, 6}));
  EXPECT_EQ(f.max_blocks_per_seq, 2);
  EXPECT_EQ(f.block_tables, (std::vector<int32_t>{b0, b1, b->block_table[0], b->block_table[1]}));
  EXPECT_EQ(f.slot_mapping[0], b1 * 4 + 1);
  EXPECT_EQ(f.slot_mapping[6], b->block_table[1] * 4 + 1);
  EXPECT_EQ(f.logits_indices, (std::vector<int32_t>{0}));  // b's chunk is not its last
  CHECK_EQ(sb.samplers.size(), size_t{1});
  EXPECT(sb.samplers[0] == a);
  sched.on_computed(out);
  a->tokens.push_back(16);

  out = sched.schedule();  // a decodes, b finishes its prefill (2 tokens): both sample
  sb = build_step_batch(out, 4);
  EXPECT_EQ(sb.batch.logits_indices, (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(sb.batch.seq_lens, (std::vector<int32_t>{7, 8}));
  EXPECT(sb.batch.block_tables.size() == 4);
}

TEST(pads_block_tables_with_minus_one) {
  BlockManager bm(16, 2, false);
  Scheduler sched({8, 100, true}, bm);
  for (int i = 0; i < 2; ++i) {
    auto s = std::make_unique<Sequence>();
    s->id = "s" + std::to_string(i);
    s->arrival = i;
    s->tokens.assign(i == 0 ? 1 : 5, 3);
    s->num_prompt_tokens = s->num_tokens();
    sched.add(std::move(s));
  }
  auto out = sched.schedule();
  StepBatch sb = build_step_batch(out, 2);
  EXPECT_EQ(sb.batch.max_blocks_per_seq, 3);
  EXPECT_EQ(sb.batch.block_tables[1], -1);
  EXPECT_EQ(sb.batch.block_tables[2], -1);
  EXPECT(sb.batch.block_tables[3] >= 0);
}
