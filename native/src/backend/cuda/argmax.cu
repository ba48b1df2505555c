// Greedy sampling on the device: the argmax of flagged logits rows, so a greedy sequence sends
// back one int instead of a vocab-sized row of floats and skips the host's scan.
#include "backend/cuda/argmax.h"

#include <cuda_runtime.h>

namespace llm {
namespace cuda {

namespace {

constexpr int kArgmaxThreads = 1024;

// The host sampler's rule as a total order, so the reduction order cannot change the result:
// a non-NaN value beats NaN; larger beats smaller; on a tie the lower index wins; among NaNs the
// higher index wins (an all-NaN row gives its last index, as argmax_index() does).
__device__ __forceinline__ bool better(float av, int ai, float bv, int bi) {
  const bool an = isnan(av), bn = isnan(bv);
  if (an != bn) return bn;
  if (an) return ai > bi;
  return av > bv || (av == bv && ai < bi);
}

__device__ __forceinline__ void keep_better(float& v, int& i, float ov, int oi) {
  if (better(ov, oi, v, i)) {
    v = ov;
    i = oi;
  }
}

__global__ void __launch_bounds__(kArgmaxThreads)
argmax_rows_kernel(const float* __restrict__ logits, const int32_t* __restrict__ flags,
                   int32_t* __restrict__ out, int vocab) {
  const int row = blockIdx.x;
  if (!flags[row]) return;  // uniform across the block: no thread reaches the barriers
  const float* x = logits + static_cast<size_t>(row) * vocab;
  float v = __int_as_float(0x7fc00000);  // NaN with index -1 loses to every element
  int idx = -1;
  for (int i = threadIdx.x; i < vocab; i += kArgmaxThreads) keep_better(v, idx, x[i], i);
  for (int o = 16; o > 0; o >>= 1)
    keep_better(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  __shared__ float sv[kArgmaxThreads / 32];
  __shared__ int si[kArgmaxThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    sv[warp] = v;
    si[warp] = idx;
  }
  __syncthreads();
  if (warp != 0) return;
  v = sv[lane];
  idx = si[lane];
  for (int o = 16; o > 0; o >>= 1)
    keep_better(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  if (lane == 0) out[row] = idx;
}

}  // namespace

void argmax_rows(const float* logits, const int32_t* flags, int32_t* out, int num_rows, int vocab,
                 cudaStream_t stream) {
  if (num_rows <= 0) return;
  argmax_rows_kernel<<<num_rows, kArgmaxThreads, 0, stream>>>(logits, flags, out, vocab);
  check_last("argmax_rows");
}

}  // namespace cuda
}  // namespace llm
