#include "core/ngram_proposer.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace llm {

int propose_ngram_draft(const int32_t* tokens, int n, int max_draft, const NgramOptions& options,
                        std::vector<int32_t>* draft) {
  if (max_draft <= 0) return 0;
  for (int g = std::min(options.max_ngram, n - 1); g >= std::max(1, options.min_ngram); --g) {
    const int32_t* tail = tokens + n - g;
    // The latest earlier occurrence: starts at i < n - g, so at least one token follows it.
    for (int i = n - g - 1; i >= 0; --i) {
      if (tokens[i] != tail[0] || std::memcmp(tokens + i, tail, sizeof(int32_t) * g) != 0) continue;
      // What followed it, continued into the draft itself when it runs into the tail (a repeating
      // period keeps repeating, as an LZ77 copy with overlap).
      const size_t base = draft->size();
      const int from = i + g;
      for (int j = 0; j < max_draft; ++j)
        draft->push_back(from + j < n ? tokens[from + j] : (*draft)[base + (from + j - n)]);
      return max_draft;
    }
  }
  return 0;
}

}  // namespace llm
