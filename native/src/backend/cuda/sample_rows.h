// Sampling next to the logits: the Argmax and Draw rows of a step (sampling/device_sampling.h)
// become one token each on the GPU.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "backend/cuda/ops.h"
#include "sampling/device_sampling.h"

namespace llm {
namespace cuda {

// For each row r < num_rows: specs[r].kind Argmax gives out[r] = argmax_index(row) (first index
// of the largest non-NaN value; the last index when all are NaN); Draw gives out[r] =
// gumbel_draw(row, ...) (a row without a finite maximum falls back to the argmax), both over the
// row as edited by edits[specs[r].edits_begin, + edits_count) (apply_row_edits; the tokens of a
// row's edits must be distinct); Host leaves out[r] and its row untouched. A non-Host row with
// specs[r].logprobs >= 0 also gets logprobs[r] (row_logprobs() of the raw row for out[r]). A
// sampled row's logits are left as they were only when it has logprobs. All pointers are
// device memory.
void sample_rows(float* logits, const RowSampling* specs, RowEdit* edits, int32_t* out, RowLogprobs* logprobs,
                 int num_rows, int vocab, cudaStream_t stream);

}  // namespace cuda
}  // namespace llm
