// Row edits (sampling/row_edits.h): the edits a backend applies before sampling a row give the
// host Sampler's processed logits bit for bit (penalties over prompt and output, bias, the
// min_tokens mask), one record per distinct token; malformed edits are refused.
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "llm/error.h"
#include "sample_context.h"
#include "sampling/device_sampling.h"
#include "sampling/row_edits.h"
#include "sampling/sampler.h"
#include "testing.h"

using namespace llm;

namespace {

// A context whose tokens the test sets, with EOS ids 2 and 9.
OwnedSampleContext context() {
  OwnedSampleContext c;
  c.tokens.clear();
  c.num_prompt = 0;
  c.eos = {2, 9};
  return c;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST(edits_give_the_samplers_processed_logits_bit_for_bit) {
  const int vocab = 500;
  std::mt19937 gen(17);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  Sampler sampler(vocab);
  RowEditPlanner planner(vocab);
  std::vector<RowEdit> edits;
  int checked = 0, with_edits = 0;
  for (int trial = 0; trial < 300; ++trial) {
    OwnedSampleContext c = context();
    c.p.temperature = 0.0f;
    c.p.repetition_penalty = trial % 3 == 0 ? 1.0f : 0.5f + 1.5f * unit(gen);
    c.p.frequency_penalty = trial % 4 == 1 ? 0.0f : -2.0f + 4.0f * unit(gen);
    c.p.presence_penalty = trial % 5 == 2 ? 0.0f : -2.0f + 4.0f * unit(gen);
    for (int b = 0; b < trial % 7; ++b) c.p.logit_bias.emplace_back(b * 61 + trial % 50, -100.0f + 200.0f * unit(gen));
    c.p.min_tokens = trial % 6;
    c.p.max_tokens = 50;
    c.p.stop_token_ids = {static_cast<int32_t>(trial % vocab), 2};  // 2 is also an EOS id
    c.num_prompt = 1 + trial % 40;
    const int num_output = trial % 9;
    for (int i = 0; i < c.num_prompt + num_output; ++i) c.tokens.push_back(token(gen) % (trial % 2 ? 20 : vocab));
    std::vector<float> raw(vocab);
    for (float& x : raw) x = logit(gen);
    raw[static_cast<size_t>(trial % vocab)] = trial % 10 == 0 ? 0.0f : raw[static_cast<size_t>(trial % vocab)];

    sampler.sample(raw.data(), c.get(), nullptr);
    const std::vector<float> want = sampler.processed();
    RowSampling spec;
    spec.kind = RowSampling::Argmax;
    edits.assign(3, RowEdit{});  // another row's edits first: ranges are offsets into the step's list
    planner.append(c.get(), &spec, &edits);
    EXPECT_EQ(spec.edits_begin, 3);
    std::vector<float> got = raw;
    apply_row_edits(got.data(), edits.data() + spec.edits_begin, spec.edits_count);
    checked += bitwise_equal(got, want);
    with_edits += spec.edits_count > 0;
    validate_row_edits({RowSampling{}, spec}, edits, vocab);  // distinct, in range
  }
  EXPECT_EQ(checked, 300);
  EXPECT(with_edits > 250);
}

TEST(rows_without_penalties_bias_or_an_active_mask_have_no_edits) {
  RowEditPlanner planner(50);
  std::vector<RowEdit> edits;
  OwnedSampleContext c = context();
  c.tokens = {1, 2, 3, 4, 5};
  c.num_prompt = 3;
  c.p.min_tokens = 2;  // two outputs so far: the mask is off
  c.p.max_tokens = 10;
  RowSampling spec;
  planner.append(c.get(), &spec, &edits);
  EXPECT_EQ(spec.edits_count, 0);
  c.p.min_tokens = 3;  // on: EOS ids 2 and 9 masked
  planner.append(c.get(), &spec, &edits);
  CHECK_EQ(spec.edits_count, 2);
  EXPECT_EQ(edits[0].token, 2);
  EXPECT_EQ(edits[0].masked, 1);
  EXPECT_EQ(edits[1].token, 9);
}

TEST(one_record_per_token_across_penalties_bias_and_mask) {
  RowEditPlanner planner(50);
  std::vector<RowEdit> edits;
  OwnedSampleContext c = context();
  c.tokens = {7, 7, 8, 7, 9};  // prompt 7 7, output 8 7 9
  c.num_prompt = 2;
  c.p.repetition_penalty = 1.5f;
  c.p.frequency_penalty = 0.25f;
  c.p.presence_penalty = 1.0f;
  c.p.logit_bias = {{7, 3.0f}, {40, -2.0f}};
  c.p.min_tokens = 5;
  c.p.max_tokens = 10;
  RowSampling spec;
  planner.append(c.get(), &spec, &edits);
  CHECK_EQ(spec.edits_count, 5);  // 7, 8, 9, 40 and EOS 2
  auto find = [&](int32_t t) -> const RowEdit& {
    for (const RowEdit& e : edits)
      if (e.token == t) return e;
    throw Error("no edit for token " + std::to_string(t));
  };
  EXPECT_EQ(find(7).repetition, 1.5f);
  EXPECT_EQ(find(7).penalty, 0.25f * 1 + 1.0f);  // 7 once among the outputs
  EXPECT_EQ(find(7).bias, 3.0f);
  EXPECT_EQ(find(9).masked, 1);  // an EOS id
  EXPECT_EQ(find(40).repetition, 1.0f);
  EXPECT_EQ(find(2).masked, 1);
  EXPECT_EQ(edited_logit(4.0f, find(7)), 4.0f / 1.5f - 1.25f + 3.0f);
  EXPECT(std::isinf(edited_logit(4.0f, find(9))));
  // The planner starts each row afresh: a second row sees none of the first one's tokens.
  OwnedSampleContext d = context();
  d.tokens = {1};
  d.num_prompt = 1;
  d.p.repetition_penalty = 2.0f;
  RowSampling second;
  planner.append(d.get(), &second, &edits);
  CHECK_EQ(second.edits_count, 1);
  EXPECT_EQ(edits[static_cast<size_t>(second.edits_begin)].token, 1);
}

TEST(malformed_edits_are_refused) {
  std::vector<RowEdit> edits(3);
  edits[0].token = 4;
  edits[1].token = 5;
  edits[2].token = 4;
  RowSampling row;
  row.kind = RowSampling::Argmax;
  row.edits_begin = 0;
  row.edits_count = 2;
  validate_row_edits({row}, edits, 10);
  row.edits_count = 3;
  EXPECT_THROWS(validate_row_edits({row}, edits, 10), "twice");
  row.edits_begin = 2;
  row.edits_count = 2;
  EXPECT_THROWS(validate_row_edits({row}, edits, 10), "outside the step");
  row.edits_begin = 1;
  row.edits_count = 1;
  EXPECT_THROWS(validate_row_edits({row}, edits, 5), "outside the vocabulary");
  RowSampling host = row;  // a Host row's fields are not read
  host.kind = RowSampling::Host;
  host.edits_begin = 99;
  validate_row_edits({host}, edits, 5);
}

TEST(a_token_biased_twice_is_refused_up_front) {
  SamplingParams p;
  p.logit_bias = {{3, 1.0f}, {4, 2.0f}, {3, -1.0f}};
  EXPECT_THROWS(validate_sampling(p, 10), "logit_bias lists token 3 more than once");
}
