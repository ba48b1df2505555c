// The Engine runtime over a deterministic fake backend: streaming, validation, batch invariance
// (alone / concurrent / preempted / prefix-cache hit), priorities, aborts, errors, close, stress.
#include <algorithm>
#include <thread>

#include "collector.h"
#include "fake_backend.h"
#include "gated_backend.h"
#include "runtime/engine_impl.h"
#include "testing.h"

using namespace llm;

namespace {
constexpr int kVocab = 40;
const std::vector<int32_t> kEos{1};

struct Rig {
  std::shared_ptr<fake::Control> control = std::make_shared<fake::Control>();
  Collector col;
  std::vector<std::string> logs;
  std::unique_ptr<Engine> engine;

  explicit Rig(EngineOptions o = {}, int max_pos = 512, std::shared_ptr<testing_support::Gate> gate = nullptr,
               bool samples_on_device = false) {
    auto model = std::make_shared<fake::FakeModel>(kVocab, max_pos, kEos);
    std::unique_ptr<Backend> backend;
    if (samples_on_device)
      backend = std::make_unique<fake::SamplingFakeBackend>(kVocab, control);
    else
      backend = std::make_unique<fake::FakeBackend>(kVocab, control);
    if (gate) backend = std::make_unique<testing_support::GatedBackend>(std::move(backend), gate);
    engine = create_engine(model, std::move(backend), o, col.sink(), [this](const std::string& m) { logs.push_back(m); });
  }
};

EngineOptions small_cache(int blocks, int block_size = 4) {
  EngineOptions o;
  o.block_size = block_size;
  o.kv_cache_bytes = static_cast<int64_t>(blocks) * block_size * 8;  // FakeBackend: 8 bytes per token
  return o;
}

std::vector<int32_t> prompt_of(int seed, int len) {
  std::vector<int32_t> p;
  uint64_t x = static_cast<uint64_t>(seed) * 7919 + 1;
  for (int i = 0; i < len; ++i) p.push_back(2 + static_cast<int32_t>(Rng::splitmix64(x) % (kVocab - 2)));
  return p;
}

std::vector<int32_t> expected(const std::vector<int32_t>& prompt, int n) {
  return fake::reference_greedy(prompt, kVocab, n, {});  // ignore_eos
}
}  // namespace

TEST(streams_greedy_tokens_and_finishes_with_length) {
  Rig rig;
  auto p = prompt_of(1, 7);
  rig.engine->add(greedy("a", p, 12));
  CHECK(rig.col.wait_finished(1));
  Outcome o = rig.col.get("a");
  EXPECT_EQ(o.tokens, expected(p, 12));
  EXPECT(o.reason == FinishReason::Length);
  EXPECT_EQ(o.prompt_tokens, 7);
  EXPECT_EQ(o.generated_tokens, 12);
  EXPECT(o.events >= 12);  // streamed, one event per step
  EXPECT(o.timings.queued_ms > 0 && o.timings.queued_ms <= o.timings.scheduled_ms);
  EXPECT(o.timings.scheduled_ms <= o.timings.first_token_ms && o.timings.first_token_ms <= o.timings.finished_ms);
  EngineStats s = rig.engine->stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.generation_tokens, 12);
  EXPECT_EQ(s.prompt_tokens, 7);
  EXPECT(s.steps >= 12);
  EXPECT_EQ(rig.engine->info().backend, std::string("fake"));
}

TEST(stops_on_eos_unless_ignored) {
  // Find a prompt whose greedy continuation hits EOS (token 1) within 40 tokens.
  std::vector<int32_t> p;
  std::vector<int32_t> ref;
  for (int seed = 0; seed < 500 && p.empty(); ++seed) {
    auto cand = prompt_of(seed, 3);
    auto r = fake::reference_greedy(cand, kVocab, 40, kEos);
    if (!r.empty() && r.back() == 1 && r.size() < 40) {
      p = cand;
      ref = r;
    }
  }
  CHECK(!p.empty());
  Rig rig;
  RequestSpec r = greedy("a", p, 40);
  r.sampling.ignore_eos = false;
  rig.engine->add(r);
  CHECK(rig.col.wait_finished(1));
  Outcome o = rig.col.get("a");
  EXPECT_EQ(o.tokens, ref);  // includes the EOS token
  EXPECT(o.reason == FinishReason::Stop);
}

TEST(add_validates_arguments) {
  EngineOptions o;
  o.max_model_len = 32;
  Rig rig(o);
  EXPECT_THROWS(rig.engine->add(greedy("a", {}, 4)), "prompt is empty");
  EXPECT_THROWS(rig.engine->add(greedy("a", std::vector<int32_t>(32, 2), 4)), "maxModelLen 32");
  EXPECT_THROWS(rig.engine->add(greedy("a", {2, kVocab}, 4)), "outside the vocabulary");
  EXPECT_THROWS(rig.engine->add(greedy("a", {2, -1}, 4)), "outside the vocabulary");
  EXPECT_THROWS(rig.engine->add(greedy("a", {2}, -1)), "max_tokens");
  EXPECT_THROWS(rig.engine->add(greedy("", {2}, 1)), "id");
  RequestSpec lp = greedy("a", {2}, 1);
  lp.sampling.logprobs = 21;
  EXPECT_THROWS(rig.engine->add(lp), "logprobs");
  rig.control->delay_us = 20000;
  rig.engine->add(greedy("dup", {2, 3}, 5));
  EXPECT_THROWS(rig.engine->add(greedy("dup", {2, 3}, 5)), "duplicate request id");
  CHECK(rig.col.wait_finished(1));
  rig.engine->add(greedy("dup", {2, 3}, 1));  // the id is free again once finished (no throw)
}

TEST(bad_engine_options_throw) {
  auto make = [](EngineOptions o) { Rig rig(o); };
  EngineOptions o;
  o.block_size = 3;
  EXPECT_THROWS(make(o), "blockSize");
  o = {};
  o.max_num_seqs = 0;
  EXPECT_THROWS(make(o), "maxNumSeqs");
  o = {};
  o.max_model_len = 100000;
  EXPECT_THROWS(make(o), "max_position_embeddings");
  o = {};
  o.kv_cache_bytes = 10;
  EXPECT_THROWS(make(o), "KV cache too small");
  o = {};
  o.kv_cache_fraction = 0;
  EXPECT_THROWS(make(o), "kvCacheFraction");
  o = {};
  o.sampling_threads = -2;
  EXPECT_THROWS(make(o), "samplingThreads");
}

TEST(max_model_len_caps_total_length_and_is_lowered_to_the_cache) {
  EngineOptions o = small_cache(4, 4);  // 16 tokens of cache < max_position_embeddings 512
  Rig rig(o);
  EXPECT_EQ(rig.engine->info().max_model_len, 16);
  EXPECT(!rig.logs.empty());
  auto p = prompt_of(3, 10);
  rig.engine->add(greedy("a", p, 100));
  CHECK(rig.col.wait_finished(1));
  Outcome o2 = rig.col.get("a");
  EXPECT(o2.reason == FinishReason::Length);
  EXPECT_EQ(o2.tokens.size(), size_t{6});  // 10 + 6 = 16
  EXPECT_EQ(o2.tokens, expected(p, 6));
}

TEST(max_tokens_zero_finishes_at_once) {
  Rig rig;
  rig.engine->add(greedy("a", {2, 3}, 0));
  CHECK(rig.col.wait_finished(1));
  EXPECT(rig.col.get("a").reason == FinishReason::Length);
  EXPECT(rig.col.get("a").tokens.empty());
}

TEST(batch_invariance_alone_concurrent_preempted_and_prefix_hit) {
  // Reference run: each request alone.
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 16; ++i) prompts.push_back(prompt_of(100 + i, 5 + (i * 7) % 23));
  std::vector<std::vector<int32_t>> alone;
  {
    Rig rig;
    for (int i = 0; i < 16; ++i) {
      rig.engine->add(greedy("r" + std::to_string(i), prompts[i], 20));
      CHECK(rig.col.wait_finished(i + 1));
      alone.push_back(rig.col.get("r" + std::to_string(i)).tokens);
      EXPECT_EQ(alone.back(), expected(prompts[i], 20));
    }
  }
  // 16 concurrent requests in a KV cache far too small: preemptions happen.
  EngineOptions o = small_cache(24, 4);
  o.max_num_batched_tokens = 16;
  Rig rig(o);
  for (int i = 0; i < 16; ++i) rig.engine->add(greedy("r" + std::to_string(i), prompts[i], 20));
  CHECK(rig.col.wait_finished(16));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(rig.col.get("r" + std::to_string(i)).tokens, alone[i]);
  EngineStats s = rig.engine->stats();
  EXPECT(s.preemptions > 0);
  EXPECT(rig.control->max_batch_seqs > 1);
  EXPECT_EQ(s.kv_blocks_used, 0);
  // Prefix-cache hit: a prompt extending prompts[15] (27 tokens) reuses its blocks.
  std::vector<int32_t> ext = prompts[15];
  ext.insert(ext.end(), alone[15].begin(), alone[15].begin() + 5);
  rig.engine->add(greedy("ext", ext, 10));
  CHECK(rig.col.wait_finished(17));
  Outcome e = rig.col.get("ext");
  EXPECT(e.cached_prompt_tokens >= 16);
  EXPECT_EQ(e.tokens, expected(ext, 10));
  EXPECT(rig.engine->stats().prefix_cache_hits > 0);
}

TEST(seeded_sampling_is_independent_of_the_batch) {
  auto run = [](bool crowded) {
    Rig rig;
    if (crowded)
      for (int i = 0; i < 8; ++i) {
        RequestSpec r = greedy("noise" + std::to_string(i), prompt_of(i, 4 + i), 15);
        r.sampling.temperature = 1.0f;
        rig.engine->add(r);
      }
    RequestSpec r = greedy("x", prompt_of(77, 9), 15);
    r.sampling.temperature = 0.9f;
    r.sampling.top_p = 0.9f;
    r.sampling.seed = 42;
    rig.engine->add(r);
    CHECK(rig.col.wait_finished(crowded ? 9 : 1));
    return rig.col.get("x").tokens;
  };
  auto a = run(false);
  auto b = run(true);
  EXPECT_EQ(a.size(), size_t{15});
  EXPECT_EQ(a, b);
}

TEST(higher_priority_finishes_first_with_a_small_cache) {
  EngineOptions o = small_cache(12, 4);
  o.max_num_batched_tokens = 64;
  auto gate = std::make_shared<testing_support::Gate>();
  Rig rig(o, 512, gate);
  // Low-priority requests first, then high-priority ones that must overtake them; the engine is
  // held in the lows' first step while the highs arrive, so the outcome does not depend on load.
  gate->close();
  for (int i = 0; i < 6; ++i) rig.engine->add(greedy("low" + std::to_string(i), prompt_of(200 + i, 8), 12, 5));
  CHECK(gate->wait_held());
  for (int i = 0; i < 3; ++i) rig.engine->add(greedy("high" + std::to_string(i), prompt_of(300 + i, 8), 12, 0));
  gate->open();
  CHECK(rig.col.wait_finished(9));
  int worst_high = -1, best_low_after = 1 << 30;
  for (int i = 0; i < 3; ++i) {
    Outcome h = rig.col.get("high" + std::to_string(i));
    worst_high = std::max(worst_high, h.finish_order);
    EXPECT_EQ(h.tokens, expected(prompt_of(300 + i, 8), 12));
  }
  int lows_before = 0;
  for (int i = 0; i < 6; ++i) {
    Outcome l = rig.col.get("low" + std::to_string(i));
    EXPECT_EQ(l.tokens, expected(prompt_of(200 + i, 8), 12));  // preempted ones still correct
    if (l.finish_order < worst_high) ++lows_before;
    best_low_after = std::min(best_low_after, l.finish_order);
  }
  // The cache holds ~2 requests: at most the lows already running when the highs came can
  // finish before the last high one.
  EXPECT(lows_before <= 2);
  EXPECT(rig.engine->stats().preemptions > 0);
  EXPECT_EQ(rig.engine->stats().kv_blocks_used, 0);
}

TEST(abort_running_and_waiting_requests) {
  EngineOptions o;
  o.max_num_seqs = 1;
  Rig rig(o);
  rig.control->delay_us = 2000;
  rig.engine->add(greedy("run", prompt_of(1, 5), 1000));
  rig.engine->add(greedy("wait", prompt_of(2, 5), 1000));
  CHECK(rig.col.wait_tokens("run", 3));
  rig.engine->abort("wait");
  rig.engine->abort("run");
  rig.engine->abort("unknown");  // ignored
  CHECK(rig.col.wait_finished(2));
  EXPECT(rig.col.get("run").reason == FinishReason::Abort);
  EXPECT(rig.col.get("wait").reason == FinishReason::Abort);
  EXPECT(rig.col.get("wait").tokens.empty());
  EXPECT(rig.col.get("run").generated_tokens >= 3);
  EngineStats s = rig.engine->stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.running + s.waiting, 0);
  EXPECT_EQ(rig.col.events_after_finish(), 0);
}

TEST(forward_errors_finish_the_batch_with_error_and_the_engine_goes_on) {
  Rig rig;
  rig.control->fail_on_token = 39;
  rig.engine->add(greedy("bad", {2, 39, 3}, 5));
  CHECK(rig.col.wait_finished(1));
  Outcome b = rig.col.get("bad");
  EXPECT(b.reason == FinishReason::Error);
  EXPECT(b.error.find("injected failure") != std::string::npos);
  rig.control->fail_on_token = -1;
  auto p = prompt_of(9, 6);
  rig.engine->add(greedy("good", p, 5));
  CHECK(rig.col.wait_finished(2));
  EXPECT_EQ(rig.col.get("good").tokens, expected(p, 5));
  EXPECT_EQ(rig.engine->stats().kv_blocks_used, 0);
}

TEST(close_aborts_everything_and_is_idempotent) {
  Rig rig;
  rig.control->delay_us = 1000;
  for (int i = 0; i < 5; ++i) rig.engine->add(greedy("r" + std::to_string(i), prompt_of(i, 6), 10000));
  CHECK(rig.col.wait_tokens("r0", 2));
  rig.engine->close();
  EXPECT_EQ(rig.col.finished(), 5);
  for (int i = 0; i < 5; ++i) EXPECT(rig.col.get("r" + std::to_string(i)).reason == FinishReason::Abort);
  rig.engine->close();
  EXPECT_THROWS(rig.engine->add(greedy("late", {2}, 1)), "closed");
  rig.engine->abort("r0");  // harmless
  EXPECT_EQ(rig.engine->stats().kv_blocks_used, 0);
}

TEST(logprobs_are_streamed_with_tokens) {
  Rig rig;
  RequestSpec r = greedy("a", prompt_of(5, 4), 6);
  r.sampling.logprobs = 3;
  rig.engine->add(r);
  CHECK(rig.col.wait_finished(1));
  Outcome o = rig.col.get("a");
  CHECK_EQ(o.logprobs.size(), o.tokens.size());
  for (size_t i = 0; i < o.tokens.size(); ++i) {
    EXPECT_EQ(o.logprobs[i].token, o.tokens[i]);
    EXPECT_EQ(o.logprobs[i].top.size(), size_t{3});
    EXPECT(o.logprobs[i].logprob <= 0);
    EXPECT_EQ(o.logprobs[i].top[0].first, o.tokens[i]);  // greedy = the best
  }
}

// What a backend that samples on the device must produce for a Draw request: one key from the
// request's Rng per token, the Gumbel-max over the fake logits of the context.
std::vector<int32_t> reference_draws(std::vector<int32_t> tokens, float temperature, float min_p, uint64_t seed,
                                     int n, int32_t top_k = 0, float top_p = 1.0f) {
  Rng rng(seed);
  std::vector<int32_t> out;
  std::vector<float> logits(kVocab);
  for (int i = 0; i < n; ++i) {
    fake::fill_logits(fake::context_hash(tokens.data(), static_cast<int>(tokens.size())), kVocab, logits.data());
    const int32_t t = gumbel_draw(logits.data(), kVocab, temperature, min_p, rng.next(), top_k, top_p);
    out.push_back(t);
    tokens.push_back(t);
  }
  return out;
}

TEST(device_sampling_takes_every_row_without_an_output_format) {
  auto sampled = [](const std::string& id, int salt, float temperature, uint64_t seed) {
    RequestSpec r = greedy(id, prompt_of(salt, 5), 10);
    r.sampling.temperature = temperature;
    r.sampling.seed = seed;
    return r;
  };
  // Greedy rows the backend edits first (penalties, bias, the min_tokens mask): they match a
  // backend that never samples, whose rows the host sampler processes.
  std::vector<RequestSpec> host_rows;
  RequestSpec r = greedy("min_tokens", prompt_of(13, 5), 10);  // edited while the mask is on
  r.sampling.min_tokens = 4;
  r.sampling.ignore_eos = false;
  r.sampling.stop_token_ids = {7};
  host_rows.push_back(r);
  r = greedy("penalty", prompt_of(14, 5), 8);
  r.sampling.presence_penalty = 0.5f;
  host_rows.push_back(r);
  r = greedy("bias", prompt_of(15, 5), 8);
  r.sampling.logit_bias = {{3, 2.0f}};
  host_rows.push_back(r);

  Rig device(EngineOptions{}, 512, nullptr, true), plain;
  RequestSpec draw_min_p = sampled("draw_min_p", 19, 1.5f, 10);
  draw_min_p.sampling.min_p = 0.3f;
  RequestSpec draw_top_k_off = sampled("draw_top_k_off", 20, 1.0f, 11);
  draw_top_k_off.sampling.top_k = kVocab;  // no cut: still a draw
  RequestSpec draw_top_p = sampled("draw_top_p", 16, 0.8f, 7);
  draw_top_p.sampling.top_p = 0.9f;
  RequestSpec draw_top_k = sampled("draw_top_k", 17, 0.8f, 8);
  draw_top_k.sampling.top_k = 5;
  // logprobs are scores of the raw row: the backend sends them with the token (greedy: same
  // tokens and scores as the host sampler's; a draw: its own tokens, the host's scores of them).
  RequestSpec logprobs = greedy("logprobs", prompt_of(12, 5), 6);
  logprobs.sampling.logprobs = 2;
  RequestSpec draw_logprobs = sampled("draw_logprobs", 21, 0.9f, 12);
  draw_logprobs.sampling.logprobs = 3;
  RequestSpec draw_biased = sampled("draw_biased", 22, 0.8f, 13);  // a bias no draw can escape
  draw_biased.sampling.logit_bias = {{5, 100.0f}};
  std::vector<RequestSpec> device_rows{greedy("plain", prompt_of(11, 5), 12), sampled("draw", 18, 0.8f, 9), draw_min_p,
                                       draw_top_k_off, draw_top_p, draw_top_k, logprobs, draw_logprobs, draw_biased};
  for (const RequestSpec& q : host_rows) {
    device.engine->add(q);
    plain.engine->add(q);
  }
  for (const RequestSpec& q : device_rows) device.engine->add(q);
  plain.engine->add(logprobs);
  CHECK(device.col.wait_finished(static_cast<int>(host_rows.size() + device_rows.size())));
  CHECK(plain.col.wait_finished(static_cast<int>(host_rows.size()) + 1));
  for (const RequestSpec& q : host_rows) {
    const Outcome a = device.col.get(q.id), b = plain.col.get(q.id);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT(a.reason == b.reason);
    EXPECT_EQ(a.logprobs.size(), b.logprobs.size());
  }
  EXPECT_EQ(device.col.get("plain").tokens, expected(prompt_of(11, 5), 12));
  EXPECT_EQ(device.col.get("draw").tokens, reference_draws(prompt_of(18, 5), 0.8f, 0.0f, 9, 10));
  EXPECT_EQ(device.col.get("draw_min_p").tokens, reference_draws(prompt_of(19, 5), 1.5f, 0.3f, 10, 10));
  EXPECT_EQ(device.col.get("draw_top_k_off").tokens, reference_draws(prompt_of(20, 5), 1.0f, 0.0f, 11, 10));
  EXPECT_EQ(device.col.get("draw_top_p").tokens, reference_draws(prompt_of(16, 5), 0.8f, 0.0f, 7, 10, 0, 0.9f));
  EXPECT_EQ(device.col.get("draw_top_k").tokens, reference_draws(prompt_of(17, 5), 0.8f, 0.0f, 8, 10, 5));
  const Outcome scored = device.col.get("logprobs"), host_scored = plain.col.get("logprobs");
  EXPECT_EQ(scored.tokens, host_scored.tokens);
  CHECK_EQ(scored.logprobs.size(), host_scored.logprobs.size());
  for (size_t i = 0; i < scored.logprobs.size(); ++i) {
    EXPECT_EQ(scored.logprobs[i].token, host_scored.logprobs[i].token);
    EXPECT_NEAR(scored.logprobs[i].logprob, host_scored.logprobs[i].logprob, 1e-5);
    CHECK_EQ(scored.logprobs[i].top.size(), size_t{2});
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(scored.logprobs[i].top[j].first, host_scored.logprobs[i].top[j].first);
      EXPECT_NEAR(scored.logprobs[i].top[j].second, host_scored.logprobs[i].top[j].second, 1e-5);
    }
  }
  const Outcome drawn = device.col.get("draw_logprobs");
  EXPECT_EQ(drawn.tokens, reference_draws(prompt_of(21, 5), 0.9f, 0.0f, 12, 10));
  CHECK_EQ(drawn.logprobs.size(), drawn.tokens.size());
  std::vector<int32_t> context = prompt_of(21, 5);
  std::vector<float> logits(kVocab);
  for (size_t i = 0; i < drawn.tokens.size(); ++i) {  // the host's scores of the drawn tokens
    fake::fill_logits(fake::context_hash(context.data(), static_cast<int>(context.size())), kVocab, logits.data());
    TokenLogprob want;
    token_logprob(logits.data(), kVocab, drawn.tokens[i], 3, &want);
    EXPECT_EQ(drawn.logprobs[i].token, drawn.tokens[i]);
    EXPECT_NEAR(drawn.logprobs[i].logprob, want.logprob, 1e-5);
    CHECK_EQ(drawn.logprobs[i].top.size(), size_t{3});
    for (size_t j = 0; j < 3; ++j) EXPECT_EQ(drawn.logprobs[i].top[j].first, want.top[j].first);
    context.push_back(drawn.tokens[i]);
  }
  EXPECT_EQ(device.col.get("draw_biased").tokens, std::vector<int32_t>(10, 5));
  const int64_t min_tokens_rows = static_cast<int64_t>(device.col.get("min_tokens").tokens.size());
  EXPECT_EQ(device.control->argmax_rows.load(), 12 + 6 + min_tokens_rows + 8 + 8);
  EXPECT_EQ(device.control->draw_rows.load(), int64_t{70});
  EXPECT_EQ(device.control->scored_rows.load(), int64_t{6 + 10});
  // Edited rows: min_tokens while fewer than 4 outputs, the presence penalty once there is an
  // output (7 of 8 steps), the bias on every step (8 + 10).
  EXPECT_EQ(device.control->edited_rows.load(), int64_t{4 + 7 + 8 + 10});
  EXPECT_EQ(plain.control->argmax_rows.load() + plain.control->draw_rows.load(), int64_t{0});
}

TEST(drain_steps_reports_every_step_once) {
  Rig rig;
  rig.engine->add(greedy("a", prompt_of(21, 9), 5));
  rig.engine->add(greedy("b", prompt_of(22, 4), 3));
  CHECK(rig.col.wait_finished(2));
  const EngineStats s = rig.engine->stats();
  const std::vector<StepSample> steps = rig.engine->drain_steps();
  EXPECT_EQ(static_cast<int64_t>(steps.size()), s.steps);
  int64_t tokens = 0;
  for (const StepSample& st : steps) {
    EXPECT(st.ms >= 0);
    EXPECT(st.tokens > 0);
    tokens += st.tokens;
  }
  EXPECT_EQ(tokens, s.prompt_tokens + s.generation_tokens);
  EXPECT_EQ(tokens, int64_t{9 + 5 + 4 + 3});
  EXPECT(rig.engine->drain_steps().empty());  // drained once
}

TEST(stress_200_requests_random_aborts_tiny_cache) {
  EngineOptions o = small_cache(40, 4);
  o.max_num_batched_tokens = 48;
  o.max_num_seqs = 24;
  Rig rig(o);
  uint64_t x = 2024;
  auto rnd = [&](int n) { return static_cast<int>(Rng::splitmix64(x) % static_cast<uint64_t>(n)); };
  std::vector<int> lens(200), maxes(200);
  std::vector<bool> aborted(200, false);
  for (int i = 0; i < 200; ++i) {
    lens[i] = 1 + rnd(60);
    maxes[i] = 1 + rnd(40);
    RequestSpec r = greedy("s" + std::to_string(i), prompt_of(1000 + i, lens[i]), maxes[i], rnd(3));
    if (rnd(4) == 0) {
      r.sampling.temperature = 0.8f;
      r.sampling.seed = static_cast<uint64_t>(i);
    }
    rig.engine->add(r);
    if (rnd(5) == 0) {
      rig.engine->abort("s" + std::to_string(rnd(i + 1)));
    }
    if (rnd(10) == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  CHECK(rig.col.wait_finished(200, 120000));
  int ok = 0, ab = 0;
  for (int i = 0; i < 200; ++i) {
    Outcome out = rig.col.get("s" + std::to_string(i));
    CHECK(out.finished);
    if (out.reason == FinishReason::Abort) {
      ++ab;
      continue;
    }
    EXPECT(out.reason == FinishReason::Length);
    const int cap = std::min(maxes[i], 160 - lens[i]);
    EXPECT_EQ(static_cast<int>(out.tokens.size()), cap);
    ++ok;
  }
  EXPECT(ok > 100);
  EngineStats s = rig.engine->stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.running + s.waiting, 0);
  EXPECT(s.preemptions > 0);
  EXPECT_EQ(rig.col.events_after_finish(), 0);
  std::fprintf(stderr, "  stress: %d finished, %d aborted, %lld preemptions, %lld steps\n", ok, ab,
               static_cast<long long>(s.preemptions), static_cast<long long>(s.steps));
}
