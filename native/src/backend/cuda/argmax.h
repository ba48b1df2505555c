// Device-side greedy pick over logits rows (see StepLogits::argmax in backend/backend.h).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "backend/cuda/ops.h"

namespace llm {
namespace cuda {

// For each row r < num_rows with flags[r] != 0: out[r] = argmax_index(logits + r * vocab, vocab)
// (first index of the largest non-NaN value; last index when all are NaN). Rows with flags[r] ==
// 0 leave out[r] untouched. All pointers are device memory.
void argmax_rows(const float* logits, const int32_t* flags, int32_t* out, int num_rows, int vocab,
                 cudaStream_t stream);

}  // namespace cuda
}  // namespace llm
