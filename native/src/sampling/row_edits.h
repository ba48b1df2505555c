// Plans the RowEdits of a row sampled next to the logits (device_sampling.h): the tokens whose
// logits the host Sampler would change before sampling (penalties over the context, bias, the
// min_tokens mask over EOS and stop ids), one record per distinct token.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/device_sampling.h"
#include "sampling/sampler.h"

namespace llm {

class RowEditPlanner {
 public:
  explicit RowEditPlanner(int vocab_size);

  // Appends the edits sample() would make to ctx's row to *out and records their range in *spec.
  void append(const SampleContext& ctx, RowSampling* spec, std::vector<RowEdit>* out);

 private:
  int vocab_;
  std::vector<int32_t> slot_;    // token -> its edit's index in *out while planning a row, else -1
  std::vector<int32_t> counts_;  // token -> times generated, while planning a row
  std::vector<int32_t> touched_;
};

// Throws llm::Error unless every sampled row's edits lie inside `edits`, name tokens of the
// vocabulary, and name each token once (a kernel edits a row's tokens in parallel).
void validate_row_edits(const std::vector<RowSampling>& rows, const std::vector<RowEdit>& edits, int vocab_size);

}  // namespace llm
