#include "bench_offline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "llm/engine.h"

namespace bench {

OfflineResults bench_offline(const OfflineOptions& opt, const EngineFactory& make_engine) {
  OfflineResults r;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<double> ttft;
  std::vector<std::vector<int32_t>> outputs(static_cast<size_t>(std::max(0, opt.num_prompts)));
  llm::EngineOptions eo;
  eo.model_path = opt.model_dir;
  eo.device = opt.device;
  eo.quantization = opt.quantization;
  eo.speculative_tokens = opt.speculative_tokens;
  eo.threads = opt.threads;
  eo.max_num_seqs = opt.max_num_seqs;
  eo.max_num_batched_tokens = opt.max_num_batched_tokens;
  eo.kv_cache_fraction = opt.kv_cache_fraction;
  eo.max_model_len = opt.input_len + opt.output_len + 16;
  eo.enable_prefix_caching = false;  // random prompts; measure compute, not cache hits
  llm::EventSink sink = [&](std::vector<llm::RequestEvent>&& events) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : events) {
      r.generated += static_cast<long>(e.new_tokens.size());
      auto& out = outputs[static_cast<size_t>(std::stoi(e.id.substr(6)))];  // "bench-<i>"
      out.insert(out.end(), e.new_tokens.begin(), e.new_tokens.end());
      if (!e.finished) continue;
      ++finished;
      if (e.reason == llm::FinishReason::Error) {
        ++r.errors;
        if (r.first_error.empty()) r.first_error = e.error;
      }
      if (e.timings.first_token_ms > 0 && e.timings.queued_ms > 0)
        ttft.push_back(e.timings.first_token_ms - e.timings.queued_ms);
    }
    cv.notify_all();
  };
  llm::LogSink log = [](const std::string& line) { std::fprintf(stderr, "  [engine] %s\n", line.c_str()); };
  auto engine = make_engine ? make_engine(eo, sink, log) : llm::Engine::create(eo, sink, log);
  engine->drain_steps();  // steps from here on
  r.backend = engine->info().backend;
  const int vocab = engine->info().vocab_size;
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> tok(0, std::min(vocab, 120000) - 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < opt.num_prompts; ++i) {
    llm::RequestSpec req;
    req.id = "bench-" + std::to_string(i);
    req.prompt_tokens.resize(opt.input_len);
    for (auto& t : req.prompt_tokens) t = tok(rng);
    req.sampling.temperature = opt.temperature;
    req.sampling.top_p = opt.top_p;
    req.sampling.top_k = opt.top_k;
    req.sampling.logprobs = opt.logprobs;
    req.sampling.repetition_penalty = opt.repetition_penalty;
    req.sampling.frequency_penalty = opt.frequency_penalty;
    req.sampling.presence_penalty = opt.presence_penalty;
    req.sampling.seed = static_cast<uint64_t>(i);
    req.sampling.max_tokens = opt.output_len;
    req.sampling.ignore_eos = true;
    engine->add(std::move(req));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished >= opt.num_prompts; });
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> step_ms;
  for (const llm::StepSample& st : engine->drain_steps()) {
    step_ms.push_back(st.ms);
    r.step_ms_total += st.ms;
  }
  r.steps = static_cast<long>(step_ms.size());
  if (!step_ms.empty()) {
    std::sort(step_ms.begin(), step_ms.end());
    r.step_ms_median = step_ms[step_ms.size() / 2];
    r.step_ms_p90 = step_ms[step_ms.size() * 9 / 10];
  }
  const llm::EngineStats stats = engine->stats();
  r.spec_draft_tokens = static_cast<long>(stats.spec_draft_tokens);
  r.spec_accepted_tokens = static_cast<long>(stats.spec_accepted_tokens);
  engine->close();
  uint64_t h = 1469598103934665603ull;
  for (const auto& out : outputs)
    for (int32_t t : out) h = (h ^ static_cast<uint32_t>(t)) * 1099511628211ull;
  r.output_hash = h;
  r.output_tok_s = r.generated / r.seconds;
  r.total_tok_s = (r.generated + static_cast<double>(opt.num_prompts) * opt.input_len) / r.seconds;
  r.requests_s = opt.num_prompts / r.seconds;
  if (!ttft.empty()) {
    std::sort(ttft.begin(), ttft.end());
    r.ttft_median_ms = ttft[ttft.size() / 2];
  }
  return r;
}

const char* const kSamplingUsage =
    "  --temperature 0 --top-p 1 --top-k 0   sampling of the offline requests (default greedy)\n"
    "  --logprobs N                each token's logprob and N alternatives (default none)\n"
    "  --repetition-penalty 1 --frequency-penalty 0 --presence-penalty 0   penalties (default none)\n";

bool parse_sampling_flag(const std::string& flag, const std::function<std::string()>& next, OfflineOptions* opt) {
  auto number = [&] { return static_cast<float>(std::atof(next().c_str())); };
  if (flag == "--temperature") opt->temperature = number();
  else if (flag == "--top-p") opt->top_p = number();
  else if (flag == "--top-k") opt->top_k = std::atoi(next().c_str());
  else if (flag == "--logprobs") opt->logprobs = std::atoi(next().c_str());
  else if (flag == "--repetition-penalty") opt->repetition_penalty = number();
  else if (flag == "--frequency-penalty") opt->frequency_penalty = number();
  else if (flag == "--presence-penalty") opt->presence_penalty = number();
  else return false;
  return true;
}

std::string sampling_json(const OfflineOptions& opt) {
  std::ostringstream js;
  js << "\"temperature\": " << opt.temperature << ", \"top_p\": " << opt.top_p << ", \"top_k\": " << opt.top_k
     << ", \"logprobs\": " << opt.logprobs << ", \"repetition_penalty\": " << opt.repetition_penalty
     << ", \"frequency_penalty\": " << opt.frequency_penalty << ", \"presence_penalty\": " << opt.presence_penalty;
  return js.str();
}

}  // namespace bench
