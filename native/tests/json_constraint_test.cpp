// Constrained decoding: the trie walk's mask equals a token-by-token check; the sampler picks only
// allowed tokens, from exactly the masked distribution (greedy, temperature, top_p); and the
// engine on the tiny fixture writes valid JSON (json_object, json_schema) or one of the choices
// (guided_choice), ending with EOS only once the value is complete.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <unistd.h>

#include "backend/backend.h"
#include "collector.h"
#include "model/json.h"
#include "model/model.h"
#include "model/token_bytes.h"
#include "runtime/engine_impl.h"
#include "sampling/choice_recognizer.h"
#include "sampling/json_recognizer.h"
#include "sampling/token_constraint.h"
#include "sampling/sampler.h"
#include "testing.h"

using namespace llm;

namespace {

constexpr int32_t kEos = 300;

// Every single byte, a few hundred multi-byte pieces from a JSON-heavy alphabet, an EOS and a
// special token without text.
std::vector<std::string> test_vocabulary() {
  std::vector<std::string> v;
  for (int b = 0; b < 256; ++b) v.emplace_back(1, static_cast<char>(b));
  for (const char* s : {"{\"", "\":", "\": ", "\",", "\"}", "}}", "]}", "true", "false", "null", ", \"", "\n  ",
                        "  ", "{}", "[]", "0.", "-1", "1e", "e+", "\\u00", "\\n", "ab", "key", "\xc3\xa9", "\xc3"})
    v.emplace_back(s);
  std::mt19937 gen(7);
  const std::string alphabet = "{}[]:,\" \n0123456789.-+eEtrufalsn\\abc";
  while (v.size() < static_cast<size_t>(kEos)) {
    std::string s;
    const int len = 2 + static_cast<int>(gen() % 6);
    for (int i = 0; i < len; ++i) s.push_back(alphabet[gen() % alphabet.size()]);
    v.push_back(s);
  }
  v.emplace_back();  // kEos
  v.emplace_back();  // another special
  return v;
}

std::shared_ptr<const TokenTrie> test_trie() {
  static auto trie = std::make_shared<const TokenTrie>(test_vocabulary());
  return trie;
}

using JsonConstraint = GrammarConstraint<JsonRecognizer>;

JsonConstraint after(const std::string& text) {
  JsonConstraint c(test_trie(), JsonRecognizer());
  for (char ch : text) c.accept(static_cast<int32_t>(static_cast<uint8_t>(ch)));
  return c;
}

struct Ctx {
  SamplingParams p;
  std::vector<int32_t> tokens{0};
  std::vector<int32_t> eos{kEos};
  Rng rng{99};
  SampleContext get(const TokenConstraint* c) {
    SampleContext ctx;
    ctx.params = &p;
    ctx.tokens = tokens.data();
    ctx.num_tokens = static_cast<int>(tokens.size());
    ctx.num_prompt_tokens = 1;
    ctx.eos_token_ids = &eos;
    ctx.rng = &rng;
    ctx.constraint = c;
    return ctx;
  }
};

std::vector<float> random_logits(int n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.f, 2.f);
  std::vector<float> l(static_cast<size_t>(n));
  for (float& x : l) x = d(gen);
  return l;
}

}  // namespace

TEST(trie_mask_equals_checking_every_token) {
  const std::vector<int32_t> ending{kEos};
  const int vocab = test_trie()->vocab_size();
  for (const char* prefix : {"", " ", "{", "{\"a", "{\"a\"", "{\"a\":", "{\"a\": 1", "{\"a\":-", "{\"a\":[",
                             "{\"a\":[1,", "{\"a\":\"x\\", "{\"a\":\"\xc3", "{\"a\":t", "{\"a\":{}}", "{}  "}) {
    const JsonConstraint c = after(prefix);
    std::vector<float> logits(static_cast<size_t>(vocab), 0.f);
    const bool any = c.mask(logits.data(), ending);
    int allowed = 0;
    for (int32_t t = 0; t < vocab; ++t) {
      const bool expect = c.allows(t, ending);
      allowed += expect;
      if ((logits[static_cast<size_t>(t)] == 0.f) != expect) {
        std::fprintf(stderr, "prefix '%s' token %d\n", prefix, t);
        CHECK(false);
      }
    }
    EXPECT_EQ(any, allowed > 0);
  }
  // EOS only once the object is complete.
  EXPECT(!after("{\"a\":1").allows(kEos, ending));
  EXPECT(after("{\"a\":1}").allows(kEos, ending));
  EXPECT(!after("{").allows(kEos + 1, ending));  // a special token without text
}

TEST(greedy_takes_the_best_allowed_token) {
  Sampler s(test_trie()->vocab_size());
  Ctx c;
  c.p.temperature = 0;
  const JsonConstraint state = after("{\"a\":");
  std::vector<float> logits(static_cast<size_t>(test_trie()->vocab_size()), 0.f);
  logits['}'] = 9;  // best overall, not allowed here
  logits['x'] = 8;  // not allowed either
  logits['7'] = 5;
  logits['['] = 4;
  EXPECT_EQ(s.sample(logits.data(), c.get(&state), nullptr), int32_t{'7'});
  logits['7'] = 1;
  EXPECT_EQ(s.sample(logits.data(), c.get(&state), nullptr), int32_t{'['});
}

// The constrained sampler's frequencies against the distribution made by masking first and then
// applying temperature and top_p, for the plain draw (which tries the unmasked draw first) and
// for top_p (which masks first).
TEST(draws_follow_the_masked_distribution) {
  const int vocab = test_trie()->vocab_size();
  const std::vector<int32_t> ending{kEos};
  const JsonConstraint state = after("{\"k\":");
  std::vector<float> logits = random_logits(vocab, 3);
  logits[' '] = 6;  // lots of mass on allowed and disallowed tokens alike
  logits['}'] = 6;
  logits['"'] = 5;
  for (float top_p : {1.0f, 0.8f}) {
    Sampler s(vocab);
    Ctx c;
    c.p.temperature = 0.9f;
    c.p.top_p = top_p;
    // Reference: mask, softmax at T, keep the nucleus, renormalise.
    std::vector<std::pair<double, int32_t>> probs;
    double total = 0;
    for (int32_t t = 0; t < vocab; ++t)
      if (state.allows(t, ending)) {
        const double w = std::exp(logits[static_cast<size_t>(t)] / 0.9);
        probs.emplace_back(w, t);
        total += w;
      }
    std::sort(probs.rbegin(), probs.rend());
    std::map<int32_t, double> expect;
    double cum = 0, kept = 0;
    for (const auto& [w, t] : probs) {
      expect[t] = w / total;
      kept += w / total;
      cum += w / total;
      if (cum >= top_p) break;
    }
    for (auto& [t, p] : expect) p /= kept;
    constexpr int kDraws = 40000;
    std::map<int32_t, int> seen;
    for (int i = 0; i < kDraws; ++i) ++seen[s.sample(logits.data(), c.get(&state), nullptr)];
    for (const auto& [t, n] : seen) {
      if (!expect.count(t)) {
        std::fprintf(stderr, "top_p %.1f drew token %d outside the masked nucleus\n", top_p, t);
        CHECK(false);
      }
    }
    for (const auto& [t, p] : expect) {
      const double f = static_cast<double>(seen[t]) / kDraws;
      const double sigma = std::sqrt(p * (1 - p) / kDraws);
      EXPECT_NEAR(f, p, 5 * sigma + 1e-4);
    }
  }
}

TEST(min_tokens_after_a_complete_object_ends_with_eos) {
  // The object is complete and the whitespace allowance used up: only EOS may follow, but
  // min_tokens masks it. The sampler ends rather than break the JSON.
  Sampler s(test_trie()->vocab_size());
  Ctx c;
  c.p.temperature = 0;
  c.p.min_tokens = 100;
  const JsonConstraint state = after("{}        ");
  std::vector<float> logits(static_cast<size_t>(test_trie()->vocab_size()), 1.f);
  EXPECT_EQ(s.sample(logits.data(), c.get(&state), nullptr), kEos);
}

TEST(no_allowed_token_is_reported_not_replaced_by_an_invalid_one) {
  // A vocabulary that cannot spell the rest of the only choice: after "a" nothing may follow.
  auto trie = std::make_shared<const TokenTrie>(std::vector<std::string>{"a", "b", "x", ""});
  auto set = ChoiceSet::make({"ac"});
  GrammarConstraint<ChoiceRecognizer> c(trie, ChoiceRecognizer(set.get()), set);
  c.accept(0);  // "a"
  Sampler s(4);
  Ctx ctx;
  ctx.eos = {3};
  ctx.p.temperature = 0;
  std::vector<float> logits{1.f, 2.f, 3.f, 0.f};
  EXPECT_EQ(s.sample(logits.data(), ctx.get(&c), nullptr), kNoAllowedToken);
  ctx.p.temperature = 1.f;
  ctx.p.top_p = 0.5f;
  EXPECT_EQ(s.sample(logits.data(), ctx.get(&c), nullptr), kNoAllowedToken);
}

TEST(the_row_is_sampled_on_the_host) {
  SamplingParams p;
  p.temperature = 0;
  EXPECT(samples_plain_argmax(p, 0));
  p.format = OutputFormat::JsonObject;
  EXPECT(!samples_plain_argmax(p, 0));
  EXPECT(!reads_only_logits(p, 0));
}

namespace {

struct TinyEngine {
  Collector col;
  std::unique_ptr<Engine> engine;
  explicit TinyEngine(const std::string& dir) {
    auto model = Model::load(dir);
    std::unique_ptr<Backend> backend = make_cpu_backend(model, 1);
    EngineOptions o;
    o.model_path = dir;
    o.max_model_len = 512;
    o.kv_cache_bytes = static_cast<int64_t>(backend->kv_block_bytes(16)) * 512;
    engine = create_engine(model, std::move(backend), o, col.sink());
  }

  // Adds n constrained requests "<prefix>-<i>" (fill sets their sampling) and waits for them.
  void run(const std::string& prefix, int n, OutputFormat format, const std::function<void(RequestSpec&, int)>& fill) {
    for (int i = 0; i < n; ++i) {
      RequestSpec r;
      r.id = prefix + "-" + std::to_string(i);
      r.prompt_tokens = {'Q', static_cast<int32_t>('0' + i)};
      r.sampling.format = format;
      r.sampling.temperature = i == 0 ? 0.f : 1.f;  // one greedy, the rest sampled with seeds
      r.sampling.seed = 1000 + i;
      fill(r, i);
      engine->add(r);
    }
    CHECK(col.wait_finished(n));
  }
};

// The text of a request that stopped: its tokens' bytes without the final stop token.
std::string stopped_text(const Outcome& o, const std::vector<std::string>& bytes) {
  CHECK(o.error.empty());
  CHECK(o.reason == FinishReason::Stop);
  std::string text;
  for (size_t k = 0; k + 1 < o.tokens.size(); ++k) text += bytes[static_cast<size_t>(o.tokens[k])];
  return text;
}

}  // namespace

TEST(the_engine_writes_valid_json_on_the_tiny_model) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("tiny model fixture not found (set LLM_TEST_MODEL_DIR)");
  TinyEngine rig(dir);
  const std::vector<std::string> bytes = load_token_bytes(dir + "/tokenizer.json", rig.engine->info().vocab_size);
  const std::vector<int32_t> eos = rig.engine->info().eos_token_ids;
  CHECK(!eos.empty());
  // Eight requests: greedy, sampled with seeds, top_p; and two whose bias on '}' and EOS makes
  // the random model close the object and stop.
  const int kN = 8;
  rig.run("json", kN, OutputFormat::JsonObject, [&](RequestSpec& r, int i) {
    r.sampling.max_tokens = 80;
    if (i == 3) r.sampling.top_p = 0.7f;
    if (i >= 6) {
      r.sampling.logit_bias = {{'}', 40.f}};
      for (int32_t e : eos) r.sampling.logit_bias.emplace_back(e, 60.f);
    }
  });
  int stopped = 0;
  for (int i = 0; i < kN; ++i) {
    const Outcome o = rig.col.get("json-" + std::to_string(i));
    CHECK(o.finished);
    CHECK(o.error.empty());
    JsonRecognizer json;
    std::string text;
    for (size_t k = 0; k < o.tokens.size(); ++k) {
      const int32_t t = o.tokens[k];
      const bool last = k + 1 == o.tokens.size();
      if (last && o.reason == FinishReason::Stop) {
        EXPECT(std::find(eos.begin(), eos.end(), t) != eos.end());
        break;
      }
      const std::string& b = bytes[static_cast<size_t>(t)];
      CHECK(!b.empty());
      CHECK(json.feed(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
      text += b;
    }
    if (o.reason == FinishReason::Stop) {
      EXPECT(json.complete());
      ++stopped;
    } else {
      EXPECT(o.reason == FinishReason::Length);
    }
    std::fprintf(stderr, "  json-%d (%s): %s\n", i, finish_reason_name(o.reason), text.c_str());
  }
  EXPECT(stopped >= 2);
}

TEST(the_engine_follows_a_json_schema_on_the_tiny_model) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("tiny model fixture not found (set LLM_TEST_MODEL_DIR)");
  TinyEngine rig(dir);
  const std::vector<std::string> bytes = load_token_bytes(dir + "/tokenizer.json", rig.engine->info().vocab_size);
  const std::string schema = R"({"type": "object", "properties": {
      "name": {"type": "string", "enum": ["ada", "grace"]},
      "age": {"type": "integer"},
      "tags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}},
    "required": ["name", "age", "tags"], "additionalProperties": false})";
  // Keys, enums and literals are forced and numbers bounded, so the random model must finish.
  const int kN = 4;
  rig.run("schema", kN, OutputFormat::JsonSchema, [&](RequestSpec& r, int) {
    r.sampling.json_schema = schema;
    r.sampling.max_tokens = 300;
  });
  for (int i = 0; i < kN; ++i) {
    const std::string text = stopped_text(rig.col.get("schema-" + std::to_string(i)), bytes);
    std::fprintf(stderr, "  schema-%d: %s\n", i, text.c_str());
    const json::Value v = json::parse(text, "output");
    CHECK(v.is_object());
    CHECK_EQ(v.members().size(), size_t{3});
    const std::string name = v.find("name")->as_string();
    EXPECT(name == "ada" || name == "grace");
    // An integer: no fraction or exponent in the text (it may exceed int64, so not is_integer()).
    CHECK(v.find("age")->is_number());
    EXPECT(std::floor(v.find("age")->as_number()) == v.find("age")->as_number());
    const size_t at = text.find("\"age\"");
    EXPECT(text.find_first_of(".eE", at + 6) > text.find_first_of(",}", at + 6));
    CHECK(v.find("tags")->is_array());
    EXPECT(v.find("tags")->items().size() <= 2);
    for (const json::Value& t : v.find("tags")->items()) EXPECT(t.is_bool());
  }
  // A schema outside the subset is refused when the request is added.
  RequestSpec bad;
  bad.id = "bad-schema";
  bad.prompt_tokens = {1, 2};
  bad.sampling.format = OutputFormat::JsonSchema;
  bad.sampling.json_schema = R"({"type": "string", "pattern": "a+"})";
  EXPECT_THROWS(rig.engine->add(bad), "pattern");
}

TEST(the_engine_picks_one_of_the_choices_on_the_tiny_model) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("tiny model fixture not found (set LLM_TEST_MODEL_DIR)");
  TinyEngine rig(dir);
  const std::vector<std::string> bytes = load_token_bytes(dir + "/tokenizer.json", rig.engine->info().vocab_size);
  const std::vector<std::string> choices{"positive", "negative", "neutral", "pos"};
  const int kN = 6;
  rig.run("choice", kN, OutputFormat::Choice, [&](RequestSpec& r, int) {
    r.sampling.choices = choices;
    r.sampling.max_tokens = 20;
  });
  for (int i = 0; i < kN; ++i) {
    const std::string text = stopped_text(rig.col.get("choice-" + std::to_string(i)), bytes);
    std::fprintf(stderr, "  choice-%d: %s\n", i, text.c_str());
    EXPECT(std::find(choices.begin(), choices.end(), text) != choices.end());
  }
}

TEST(json_requests_need_the_tokenizer) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("tiny model fixture not found (set LLM_TEST_MODEL_DIR)");
  namespace fs = std::filesystem;
  const fs::path copy = fs::temp_directory_path() / ("llm-no-tokenizer-" + std::to_string(::getpid()));
  fs::create_directories(copy);
  for (const char* f : {"config.json", "model.safetensors", "generation_config.json"})
    fs::copy_file(fs::path(dir) / f, copy / f, fs::copy_options::overwrite_existing);
  {
    TinyEngine rig(copy.string());
    RequestSpec r;
    r.id = "needs-tokenizer";
    r.prompt_tokens = {1, 2, 3};
    r.sampling.format = OutputFormat::JsonObject;
    EXPECT_THROWS(rig.engine->add(r), "json_object needs the model's tokenizer");
    r.id = "again";
    EXPECT_THROWS(rig.engine->add(r), "tokenizer.json");  // the same error, not a crash
    r.sampling.format = OutputFormat::Text;
    rig.engine->add(r);  // plain requests still run
    CHECK(rig.col.wait_finished(1));
  }
  fs::remove_all(copy);
}
