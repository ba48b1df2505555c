// Draft tokens for speculative decoding by prompt lookup (n-gram matching): the sequence's last n
// tokens (n from max_ngram down to min_ngram) are searched for earlier in its own text (prompt and
// output); the tokens that followed the latest earlier occurrence are the draft. Costs no model;
// pays off when the output repeats or copies its context (code edits, extraction, summaries).
#pragma once

#include <cstdint>
#include <vector>

namespace llm {

struct NgramOptions {
  int min_ngram = 1;
  int max_ngram = 3;
};

// Appends max_draft draft tokens for `tokens` (n tokens) to *draft when some n-gram matches, else
// none; returns how many.
int propose_ngram_draft(const int32_t* tokens, int n, int max_draft, const NgramOptions& options,
                        std::vector<int32_t>* draft);

}  // namespace llm
