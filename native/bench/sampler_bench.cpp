// sampler-bench: host sampling time per logits row on a Llama 3-sized vocabulary (128,256), per
// mode, and a 16-row step through the engine's SamplingPool. This is the per-sequence cost of
// every step on the CPU backend, and on the CUDA backend for the rows it cannot sample on the GPU
// (top_k, top_p, penalties, logprobs).
//
//   sampler-bench [--rows N] [--scale S] [--json synthetic | --json DIR/tokenizer.json]
//   (logits ~ N(0, S), default 3)
//
// With --json, also the cost of response_format json_object / json_schema per row: the trie walk
// that masks the vocabulary in a few grammar states, and whole greedy / top_p samples under it, over
// a real tokenizer.json or a synthetic Llama 3-sized vocabulary (all 256 bytes, then word pieces
// with and without a leading space, punctuation runs, numbers and CJK pairs).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "model/token_bytes.h"
#include "runtime/sampling_pool.h"
#include "sampling/json_recognizer.h"
#include "sampling/json_schema.h"
#include "sampling/token_constraint.h"
#include "sampling/sampler.h"

namespace {

double ms_per(int reps, const std::function<void()>& fn) {
  fn();  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
}

std::vector<std::string> synthetic_vocabulary(int vocab) {
  std::vector<std::string> v;
  for (int b = 0; b < 256; ++b) v.emplace_back(1, static_cast<char>(b));
  std::mt19937 gen(11);
  auto pick = [&](int n) { return static_cast<int>(gen() % static_cast<uint32_t>(n)); };
  const char* punct[] = {"{\"", "\":", " \"", "\",", "\"}", "},", "\n", "\n\n", "  ", "    ", ".\n",
                         ", ", "(\"", "\");", "[]", "{}", "()", "==", "//", "->", "::"};
  std::set<std::string> seen(v.begin(), v.end());
  while (static_cast<int>(v.size()) < vocab - 256) {  // the last 256 ids: special tokens
    std::string s;
    const int kind = pick(100);
    if (kind < 70) {
      if (pick(10) < 6) s = " ";
      for (int i = 0, n = 1 + pick(9); i < n; ++i) s.push_back(static_cast<char>((pick(10) ? 'a' : 'A') + pick(26)));
    } else if (kind < 85) {
      for (int i = 0, n = 1 + pick(3); i < n; ++i) s += punct[pick(21)];
    } else if (kind < 95) {
      s = std::to_string(pick(1000));
    } else {
      for (int i = 0, n = 1 + pick(2); i < n; ++i) {
        const int cp = 0x4e00 + pick(0x9fff - 0x4e00);
        s += static_cast<char>(0xe0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        s += static_cast<char>(0x80 | (cp & 0x3f));
      }
    }
    if (seen.insert(s).second) v.push_back(s);
  }
  v.resize(static_cast<size_t>(vocab));
  return v;
}

// response_format json_object: mask cost per JSON state, and samples.
void bench_json(const std::string& source, int vocab, const std::vector<float>& logits, int rows) {
  const auto t0 = std::chrono::steady_clock::now();
  auto trie = std::make_shared<const llm::TokenTrie>(source == "synthetic" ? synthetic_vocabulary(vocab)
                                                                           : llm::load_token_bytes(source, vocab));
  const std::string& tokenizer = source;
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\nstructured output (%s vocabulary): vocabulary and trie built in %.1f ms, %zu trie nodes\n", tokenizer.c_str(), load_ms,
              trie->num_nodes());
  const std::vector<int32_t> ending{vocab - 1};
  // Feeds `text` through single-byte tokens, then times the mask and whole samples in that state.
  auto measure = [&](const char* name, llm::TokenConstraint& c, llm::OutputFormat format, const char* text) {
    for (const char* ch = text; *ch; ++ch)
      for (int32_t t = 0; t < vocab; ++t)
        if (trie->bytes(t).size() == 1 && trie->bytes(t)[0] == *ch) {
          c.accept(t);
          break;
        }
    std::vector<float> row(logits);
    int allowed = 0;
    const double mask_ms = ms_per(rows, [&] {
      row = logits;
      c.mask(row.data(), ending);
    });
    for (float x : row) allowed += x > -1e30f;
    llm::Sampler sampler(vocab);
    llm::Rng rng(5);
    llm::SamplingParams p;
    llm::SampleContext ctx;
    ctx.params = &p;
    ctx.rng = &rng;
    ctx.constraint = &c;
    p.format = format;
    p.temperature = 0;
    const double greedy_ms = ms_per(rows, [&] { sampler.sample(logits.data(), ctx, nullptr); });
    p.temperature = 0.8f;
    p.top_p = 0.9f;
    const double top_p_ms = ms_per(rows, [&] { sampler.sample(logits.data(), ctx, nullptr); });
    std::printf("%-36s mask %7.3f ms (%6d tokens allowed), greedy %7.3f ms, top_p 0.9 %7.3f ms per row\n", name,
                mask_ms, allowed, greedy_ms, top_p_ms);
  };
  using ObjectConstraint = llm::GrammarConstraint<llm::JsonRecognizer>;
  using SchemaConstraint = llm::GrammarConstraint<llm::JsonSchemaRecognizer>;
  for (const auto& [name, text] : {std::pair{"json_object: after '{'", "{"},
                                   std::pair{"json_object: inside a string", "{\"name\": \"Ada"},
                                   std::pair{"json_object: after ':'", "{\"n\":"}}) {
    ObjectConstraint c(trie, llm::JsonRecognizer());
    measure(name, c, llm::OutputFormat::JsonObject, text);
  }
  auto schema = llm::JsonSchema::compile(R"({"type": "object", "properties": {"name": {"type": "string"},
      "age": {"type": "integer"}, "role": {"enum": ["admin", "user", "guest"]}}, "required": ["name", "age", "role"]})");
  for (const auto& [name, text] : {std::pair{"json_schema: a key", "{"},
                                   std::pair{"json_schema: inside a free string", "{\"name\": \"Ada"},
                                   std::pair{"json_schema: an integer", "{\"age\":"},
                                   std::pair{"json_schema: an enum", "{\"role\":"}}) {
    SchemaConstraint c(trie, llm::JsonSchemaRecognizer(schema.get()), schema);
    measure(name, c, llm::OutputFormat::JsonSchema, text);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rows = 50;
  float scale = 3.0f;
  std::string tokenizer;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--scale")) scale = static_cast<float>(std::atof(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--json")) tokenizer = argv[i + 1];
  }
  const int vocab = 128256;
  std::mt19937 gen(1);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> logits(vocab);
  for (float& x : logits) x = d(gen);
  struct Mode {
    const char* name;
    float temperature, top_p, min_p;
    int top_k;
    float repetition_penalty;
    int logprobs;
  };
  const Mode modes[] = {{"greedy", 0.0f, 1.0f, 0.0f, 0, 1.0f, -1},
                        {"temperature 0.8", 0.8f, 1.0f, 0.0f, 0, 1.0f, -1},
                        {"top_p 0.9", 0.8f, 0.9f, 0.0f, 0, 1.0f, -1},
                        {"top_k 50", 0.8f, 1.0f, 0.0f, 50, 1.0f, -1},
                        {"top_k 50 + top_p 0.9", 0.8f, 0.9f, 0.0f, 50, 1.0f, -1},
                        {"min_p 0.05", 0.8f, 1.0f, 0.05f, 0, 1.0f, -1},
                        {"top_p 0.9 + rep. penalty", 0.8f, 0.9f, 0.0f, 0, 1.1f, -1},
                        {"greedy + logprobs 5", 0.0f, 1.0f, 0.0f, 0, 1.0f, 5}};
  std::vector<int32_t> context(512);
  for (size_t i = 0; i < context.size(); ++i) context[i] = static_cast<int32_t>((i * 7919) % vocab);
  std::printf("%-28s %12s\n", "mode (vocab 128256)", "ms per row");
  for (const Mode& m : modes) {
    llm::Sampler sampler(vocab);
    llm::SamplingParams p;
    p.temperature = m.temperature;
    p.top_p = m.top_p;
    p.top_k = m.top_k;
    p.min_p = m.min_p;
    p.repetition_penalty = m.repetition_penalty;
    p.logprobs = m.logprobs;
    llm::Rng rng(3);
    llm::SampleContext ctx;
    ctx.params = &p;
    ctx.tokens = context.data();
    ctx.num_tokens = static_cast<int>(context.size());
    ctx.num_prompt_tokens = 256;
    ctx.rng = &rng;
    llm::TokenLogprob lp;
    sampler.sample(logits.data(), ctx, &lp);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    int64_t checksum = 0;
    for (int r = 0; r < rows; ++r) checksum += sampler.sample(logits.data(), ctx, &lp);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / rows;
    std::printf("%-28s %12.3f   (tokens sum %lld)\n", m.name, ms, static_cast<long long>(checksum));
  }

  // A step's rows through the engine's SamplingPool (top_p 0.9, one Rng per row), against one
  // thread doing them in order.
  const int step_rows = 16;
  llm::SamplingParams p;
  p.temperature = 0.8f;
  p.top_p = 0.9f;
  std::vector<llm::Rng> rngs(step_rows);
  std::vector<llm::SamplingPool::Job> jobs(step_rows);
  for (int r = 0; r < step_rows; ++r) {
    jobs[r].logits = logits.data();
    jobs[r].ctx.params = &p;
    jobs[r].ctx.tokens = context.data();
    jobs[r].ctx.num_tokens = static_cast<int>(context.size());
    jobs[r].ctx.num_prompt_tokens = 256;
    jobs[r].ctx.rng = &rngs[r];
  }
  for (int threads : {0, llm::default_sampling_threads()}) {
    llm::SamplingPool pool(vocab, threads, 0);
    pool.run(jobs);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < rows / 4 + 1; ++i) pool.run(jobs);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / (rows / 4 + 1);
    std::printf("%d rows of top_p 0.9, %d helper thread(s): %.3f ms per step\n", step_rows, threads, ms);
  }
  if (!tokenizer.empty()) bench_json(tokenizer, vocab, logits, rows);
  return 0;
}
