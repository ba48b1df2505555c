// engine-bench: the engine's benchmark CLI (no Node). See --help.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "bench_backend.h"
#include "bench_offline.h"
#include "llm/error.h"
#include "model/model.h"
#include "random_model.h"

namespace {

const char* kUsage =
    "engine-bench: benchmarks of the native engine\n"
    "  --model DIR                 a Hugging Face Llama directory\n"
    "  --random-model SHAPE --out DIR   write random bf16 weights first (llama-3.2-1b, llama-3.2-3b, small)\n"
    "  --write-only                only write the random model\n"
    "  --device auto|cpu|cuda      (auto)      --threads N (0 = all cores)\n"
    "  --quantization none|int8|int8-bf16|int4   CPU backend: int8 weights (per-row scales); int8-bf16: x bf16\n"
    "                                 activations; int4: groups of 32 weights x int8 activations\n"
    "  --speculative-tokens N      (0)         offline requests: n-gram speculative decoding, N drafts\n"
    "  --verify-drafts 1,2,4,8     time one sequence's step of 1 + k tokens (speculative verification)\n"
    "  --batch-sizes 1,8,64,256    decode batch sizes (default: cuda 1,8,64,256; cpu 1,4,8,16)\n"
    "  --prompt-len 128  --ttft-len 512  --decode-steps 16  --repeats 3\n"
    "  --decode-context N          tokens cached per sequence before decode steps (default: prompt-len)\n"
    "  --num-prompts N             offline requests through the Engine (0 skips; default 100)\n"
    "  --input-len 512 --output-len 128 --max-num-seqs 256 --max-num-batched-tokens 4096\n"
    "  --kv-cache-fraction 0.9\n"
    "  --dump-logits FILE [--dump-tokens N]   write the logits of one N-token prefill (f32, N x vocab)\n"
    "                              and FILE.json {tokens, vocab}; then exit\n"
    "  --op-timing                 CUDA: GPU time per op of each timed phase (steps run without graphs)\n"
    "  --output results.json       --label NAME\n";

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const int x = std::atoi(item.c_str());
    if (x <= 0) throw std::runtime_error("bad list entry '" + item + "'");
    v.push_back(x);
  }
  return v;
}

std::string fmt(double v, int prec = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, random_shape, out_dir, device = "auto", quantization = "none", batch_list, verify_list, output,
      label, dump;
  int threads = 0, decode_context = 0, prompt_len = 128, ttft_len = 512, decode_steps = 16, repeats = 3, dump_tokens = 24;
  bench::OfflineOptions off;
  bool write_only = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
        return argv[++i];
      };
      if (a == "--help" || a == "-h") { std::printf("%s%s", kUsage, bench::kSamplingUsage); return 0; }
      else if (a == "--model") model_dir = next();
      else if (a == "--random-model") random_shape = next();
      else if (a == "--out") out_dir = next();
      else if (a == "--write-only") write_only = true;
      else if (a == "--device") device = next();
      else if (a == "--quantization") quantization = next();
      else if (a == "--speculative-tokens") off.speculative_tokens = std::atoi(next().c_str());
      else if (a == "--threads") threads = std::atoi(next().c_str());
      else if (a == "--batch-sizes") batch_list = next();
      else if (a == "--verify-drafts") verify_list = next();
      else if (a == "--prompt-len") prompt_len = std::atoi(next().c_str());
      else if (a == "--decode-context") decode_context = std::atoi(next().c_str());
      else if (a == "--ttft-len") ttft_len = std::atoi(next().c_str());
      else if (a == "--decode-steps") decode_steps = std::atoi(next().c_str());
      else if (a == "--repeats") repeats = std::atoi(next().c_str());
      else if (a == "--num-prompts") off.num_prompts = std::atoi(next().c_str());
      else if (a == "--input-len") off.input_len = std::atoi(next().c_str());
      else if (a == "--output-len") off.output_len = std::atoi(next().c_str());
      else if (a == "--max-num-seqs") off.max_num_seqs = std::atoi(next().c_str());
      else if (a == "--max-num-batched-tokens") off.max_num_batched_tokens = std::atoi(next().c_str());
      else if (a == "--kv-cache-fraction") off.kv_cache_fraction = std::atof(next().c_str());
      else if (bench::parse_sampling_flag(a, next, &off)) continue;
      else if (a == "--dump-logits") dump = next();
      else if (a == "--dump-tokens") dump_tokens = std::atoi(next().c_str());
      else if (a == "--output") output = next();
      else if (a == "--label") label = next();
      else if (a == "--op-timing") setenv("LLM_CUDA_OP_TIMING", "1", 1);
      else throw std::runtime_error("unknown option " + a + " (see --help)");
    }
    if (!random_shape.empty()) {
      if (out_dir.empty()) throw std::runtime_error("--random-model needs --out DIR");
      const auto t0 = std::chrono::steady_clock::now();
      const size_t bytes = bench::write_random_model(bench::shape_by_name(random_shape), out_dir, threads);
      std::fprintf(stderr, "wrote %s (%s, %.2f GB) in %.1f s\n", out_dir.c_str(), random_shape.c_str(), bytes / 1e9,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (model_dir.empty()) model_dir = out_dir;
      if (write_only) return 0;
    }
    if (model_dir.empty()) throw std::runtime_error("give --model DIR or --random-model SHAPE --out DIR");
    if (label.empty()) label = random_shape.empty() ? model_dir : random_shape;

    auto model = llm::Model::load(model_dir);
    llm::BackendOptions bo;
    bo.device = device;
    bo.threads = threads;
    bo.quantization = quantization;
    if (const char* env = std::getenv("LLM_CUDA_MAX_TOKENS"); !env || !*env) {
      const std::string cap = std::to_string(std::max({off.max_num_batched_tokens, ttft_len, prompt_len, 2048}));
      setenv("LLM_CUDA_MAX_TOKENS", cap.c_str(), 1);
    }
    std::string log;
    auto backend = llm::make_backend(model, bo, &log);
    std::fprintf(stderr, "%s\n", log.c_str());

    if (!dump.empty()) {
      std::vector<int32_t> tokens;
      for (int i = 0; i < dump_tokens; ++i) tokens.push_back(static_cast<int32_t>((i * 37 + 11) % 250));
      const auto logits = bench::prompt_logits(model, *backend, tokens);
      std::ofstream f(dump, std::ios::binary);
      f.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * 4));
      std::ofstream j(dump + ".json");
      j << "{\"vocab\": " << model->config().vocab_size << ", \"backend\": \"" << backend->name() << "\", \"tokens\": [";
      for (size_t i = 0; i < tokens.size(); ++i) j << (i ? ", " : "") << tokens[i];
      j << "]}\n";
      if (!f || !j) throw std::runtime_error("cannot write " + dump);
      std::fprintf(stderr, "wrote %zu x %d logits to %s\n", tokens.size(), model->config().vocab_size, dump.c_str());
      return 0;
    }

    bench::BackendBenchOptions bbo;
    bbo.prompt_len = prompt_len;
    bbo.ttft_len = ttft_len;
    bbo.decode_context = decode_context;
    bbo.decode_steps = decode_steps;
    bbo.repeats = repeats;
    if (!verify_list.empty()) bbo.verify_drafts = parse_list(verify_list);
    bbo.batch_sizes = !batch_list.empty() ? parse_list(batch_list)
                      : backend->name() == "cuda" ? std::vector<int>{1, 8, 64, 256}
                                                  : std::vector<int>{1, 4, 8, 16};
    std::string description = backend->name();
    const bench::BackendResults br = bench::bench_backend(model, *backend, bbo);
    backend.reset();  // free the device before the Engine builds its own backend

    bench::OfflineResults orr;
    if (off.num_prompts > 0) {
      off.model_dir = model_dir;
      off.device = device;
      off.threads = threads;
      off.quantization = quantization;
      orr = bench::bench_offline(off);
    }

    // JSON.
    std::ostringstream js;
    js << "{\n  \"label\": \"" << label << "\",\n  \"backend\": \"" << br.backend << "\",\n"
       << "  \"quantization\": \"" << quantization << "\",\n"
       << "  \"weight_bytes\": " << br.weight_bytes << ",\n  \"copy_bandwidth_gbs\": " << br.copy_bw_gbs << ",\n"
       << "  \"prompt_len\": " << br.prompt_len << ",\n  \"prompt_tok_s\": " << br.prompt_tok_s << ",\n"
       << "  \"ttft_len\": " << br.ttft_len << ",\n  \"ttft_ms\": " << br.ttft_ms << ",\n"
       << "  \"peak_memory_bytes\": " << br.peak_mem_bytes << ",\n  \"decode\": [";
    for (size_t i = 0; i < br.decode.size(); ++i) {
      const auto& p = br.decode[i];
      js << (i ? "," : "") << "\n    {\"batch\": " << p.batch << ", \"context\": " << p.context
         << ", \"step_ms\": " << p.step_ms << ", \"tok_s\": " << p.tok_per_s << ", \"floor_ms\": " << p.floor_ms
         << ", \"kv_bytes\": " << p.kv_bytes << "}";
    }
    js << "\n  ],\n  \"batched_prefill_seqs\": " << br.batched_prefill_seqs
       << ",\n  \"batched_prefill_tok_s\": " << br.batched_prefill_tok_s << ",\n  \"verify\": [";
    for (size_t i = 0; i < br.verify.size(); ++i)
      js << (i ? ", " : "") << "{\"drafts\": " << br.verify[i].drafts << ", \"step_ms\": " << br.verify[i].step_ms << "}";
    js << "],\n  \"op_timing\": [";
    for (size_t i = 0; i < br.op_phases.size(); ++i) {
      const auto& ph = br.op_phases[i];
      js << (i ? "," : "") << "\n    {\"phase\": \"" << ph.phase << "\", \"steps\": " << ph.steps << ", \"ms_per_step\": {";
      for (size_t k = 0; k < ph.ms_per_step.size(); ++k)
        js << (k ? ", " : "") << "\"" << ph.ms_per_step[k].first << "\": " << ph.ms_per_step[k].second;
      js << "}}";
    }
    js << "\n  ]";
    if (off.num_prompts > 0)
      js << ",\n  \"offline\": {\"num_prompts\": " << off.num_prompts << ", " << bench::sampling_json(off)
         << ", \"input_len\": " << off.input_len
         << ", \"output_len\": " << off.output_len << ", \"seconds\": " << orr.seconds
         << ", \"output_tok_s\": " << orr.output_tok_s << ", \"total_tok_s\": " << orr.total_tok_s
         << ", \"requests_s\": " << orr.requests_s << ", \"ttft_median_ms\": " << orr.ttft_median_ms
         << ", \"generated\": " << orr.generated << ", \"errors\": " << orr.errors
         << ", \"speculative_tokens\": " << off.speculative_tokens << ", \"spec_draft_tokens\": " << orr.spec_draft_tokens
         << ", \"spec_accepted_tokens\": " << orr.spec_accepted_tokens << ", \"steps\": " << orr.steps
         << ", \"step_ms_median\": " << orr.step_ms_median << ", \"step_ms_p90\": " << orr.step_ms_p90
         << ", \"output_hash\": \"" << std::hex
         << orr.output_hash << std::dec << "\"}";
    js << "\n}\n";
    if (!output.empty()) {
      std::ofstream f(output);
      f << js.str();
      if (!f) throw std::runtime_error("cannot write " + output);
    }

    // Table.
    std::printf("\n== engine-bench %s on %s ==\n", label.c_str(), br.backend.c_str());
    std::printf("weights %.2f GB", br.weight_bytes / 1e9);
    if (br.copy_bw_gbs > 0) std::printf(", device copy bandwidth %.0f GB/s (read+write)", br.copy_bw_gbs);
    std::printf(", memory in use %.2f GB\n", br.peak_mem_bytes / 1e9);
    std::printf("prompt %d tokens: %s tok/s | TTFT %d-token prompt: %s ms\n", br.prompt_len,
                fmt(br.prompt_tok_s).c_str(), br.ttft_len, fmt(br.ttft_ms, 2).c_str());
    std::printf("%-7s %-8s %-10s %-12s %-10s %-8s\n", "batch", "context", "step ms", "tok/s", "floor ms", "x floor");
    for (const auto& p : br.decode)
      std::printf("%-7d %-8d %-10s %-12s %-10s %-8s\n", p.batch, p.context, fmt(p.step_ms, 3).c_str(),
                  fmt(p.tok_per_s).c_str(), p.floor_ms > 0 ? fmt(p.floor_ms, 3).c_str() : "-",
                  p.floor_ms > 0 ? fmt(p.step_ms / p.floor_ms, 2).c_str() : "-");
    if (off.num_prompts > 0)
      std::printf("offline %d x (%d in / %d out): %.1f s, %s output tok/s, %s total tok/s, %d errors%s%s\n",
                  off.num_prompts, off.input_len, off.output_len, orr.seconds, fmt(orr.output_tok_s).c_str(),
                  fmt(orr.total_tok_s).c_str(), orr.errors, orr.first_error.empty() ? "" : ": ",
                  orr.first_error.c_str());
    if (off.num_prompts > 0)
      std::printf("offline outputs hash %016llx; speculative decoding: %ld of %ld draft tokens accepted\n",
                  static_cast<unsigned long long>(orr.output_hash), orr.spec_accepted_tokens, orr.spec_draft_tokens);
    return orr.errors ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine-bench: %s\n", e.what());
    return 2;
  }
}
