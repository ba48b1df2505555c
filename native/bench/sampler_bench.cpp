// sampler-bench: host sampling time per logits row on a Llama 3-sized vocabulary (128,256), per
// mode, and a 16-row step through the engine's SamplingPool. This is the per-sequence cost of
// every step on the CPU backend, and on the CUDA backend for the rows it cannot sample on the GPU
// (top_k, top_p, penalties, logprobs).
//
//   sampler-bench [--rows N] [--scale S]    (logits ~ N(0, S), default 3)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/sampling_pool.h"
#include "sampling/sampler.h"

int main(int argc, char** argv) {
  int rows = 50;
  float scale = 3.0f;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--scale")) scale = static_cast<float>(std::atof(argv[i + 1]));
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
  return 0;
}
