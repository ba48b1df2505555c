// A SampleContext over parts the test owns (params, tokens, EOS ids, Rng), for sampler tests.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/sampler.h"

struct OwnedSampleContext {
  llm::SamplingParams p;
  std::vector<int32_t> tokens{0};  // prompt then output
  int num_prompt = 1;
  std::vector<int32_t> eos{3};
  llm::Rng rng{1234};

  llm::SampleContext get() {
    llm::SampleContext c;
    c.params = &p;
    c.tokens = tokens.data();
    c.num_tokens = static_cast<int>(tokens.size());
    c.num_prompt_tokens = num_prompt;
    c.eos_token_ids = &eos;
    c.rng = &rng;
    return c;
  }
};
