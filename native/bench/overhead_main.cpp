// engine-overhead-bench: the offline workload through the real Engine over a backend that computes
// nothing (null_backend.h), so the time is what the engine costs on the host per step: the
// ceiling the host side puts on throughput, whatever the GPU does. No model files, no GPU.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "bench_offline.h"
#include "null_backend.h"
#include "random_model.h"
#include "runtime/engine_impl.h"

namespace {

const char* kUsage =
    "engine-overhead-bench: the Engine's host cost per step, over a backend that computes nothing\n"
    "  --shape llama-3.2-1b        model shape (vocab, KV block size): llama-3.2-1b, llama-3.2-3b, small\n"
    "  --num-prompts 1000 --input-len 512 --output-len 128\n"
    "  --max-num-seqs 256 --max-num-batched-tokens 8192\n"
    "  --kv-gib 60                 KV cache the null backend offers\n"
    "  --output results.json\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string shape_name = "llama-3.2-1b", output;
    double kv_gib = 60;
    bench::OfflineOptions off;
    off.num_prompts = 1000;
    off.max_num_batched_tokens = 8192;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        std::printf("%s%s", kUsage, bench::kSamplingUsage);
        return 0;
      } else if (a == "--shape") shape_name = next();
      else if (a == "--num-prompts") off.num_prompts = std::atoi(next().c_str());
      else if (a == "--input-len") off.input_len = std::atoi(next().c_str());
      else if (a == "--output-len") off.output_len = std::atoi(next().c_str());
      else if (a == "--max-num-seqs") off.max_num_seqs = std::atoi(next().c_str());
      else if (a == "--max-num-batched-tokens") off.max_num_batched_tokens = std::atoi(next().c_str());
      else if (bench::parse_sampling_flag(a, next, &off)) continue;
      else if (a == "--kv-gib") kv_gib = std::atof(next().c_str());
      else if (a == "--output") output = next();
      else throw std::runtime_error("unknown option " + a + " (see --help)");
    }
    if (off.num_prompts <= 0) throw std::runtime_error("--num-prompts must be > 0");
    const bench::ModelShape shape = bench::shape_by_name(shape_name);
    const auto kv_bytes = static_cast<size_t>(kv_gib * (1ull << 30));
    const bench::OfflineResults r = bench::bench_offline(
        off, [&](const llm::EngineOptions& eo, llm::EventSink sink, llm::LogSink log) {
          auto model = std::make_shared<bench::ShapeOnlyModel>(shape);
          auto backend = std::make_unique<bench::NullBackend>(model->config(), kv_bytes);
          return llm::create_engine(model, std::move(backend), eo, std::move(sink), std::move(log));
        });
    const double host_ms_per_step = r.steps ? r.step_ms_total / static_cast<double>(r.steps) : 0;
    std::printf(
        "engine-overhead-bench %s, %d x (%d in / %d out), max_num_seqs %d, temperature %g top_p %g top_k %d logprobs %d"
        " penalties repetition %g frequency %g presence %g\n",
        shape.name.c_str(), off.num_prompts, off.input_len, off.output_len, off.max_num_seqs, off.temperature, off.top_p,
        off.top_k, off.logprobs, off.repetition_penalty, off.frequency_penalty, off.presence_penalty);
    std::printf("  %.2f s, %ld steps: host ms per step mean %.3f, median %.3f, p90 %.3f; %ld errors\n", r.seconds,
                r.steps, host_ms_per_step, r.step_ms_median, r.step_ms_p90, static_cast<long>(r.errors));
    std::printf("  ceiling from the host side alone: %.0f output tok/s (%.0f total tok/s)\n", r.output_tok_s,
                r.total_tok_s);
    if (!output.empty()) {
      std::ofstream f(output);
      f << "{\"shape\": \"" << shape.name << "\", \"num_prompts\": " << off.num_prompts << ", \"input_len\": "
        << off.input_len << ", \"output_len\": " << off.output_len << ", \"max_num_seqs\": " << off.max_num_seqs
        << ", " << bench::sampling_json(off) << ", \"seconds\": " << r.seconds << ", \"steps\": " << r.steps
        << ", \"host_ms_per_step\": " << host_ms_per_step << ", \"step_ms_median\": " << r.step_ms_median << ", \"step_ms_p90\": " << r.step_ms_p90
        << ", \"output_tok_s\": " << r.output_tok_s << ", \"errors\": " << r.errors << "}\n";
      if (!f) throw std::runtime_error("cannot write " + output);
    }
    return r.errors ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine-overhead-bench: %s\n", e.what());
    return 2;
  }
}
