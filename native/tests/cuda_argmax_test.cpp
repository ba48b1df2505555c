// The device argmax (greedy rows of forward_step) against the host sampler's rule on awkward rows:
// ties, NaN, -inf, an all-NaN row, a one-element vocabulary and unflagged rows left untouched.
// Skips without a GPU.
#ifndef LLM_WITH_CUDA
#include "testing.h"
TEST(cuda_argmax_not_built) { SKIP("engine built without CUDA (LLM_WITH_CUDA off)"); }
#else

#include <cmath>
#include <limits>

#include "backend/cuda/argmax.h"
#include "cuda_test_util.h"
#include "sampling/sampler.h"

using namespace cudatest;

namespace {

// Runs the kernel over `rows` (each `vocab` long) with every row flagged except `skip`.
std::vector<int32_t> device_argmax(const std::vector<std::vector<float>>& rows, int vocab, int skip = -1) {
  std::vector<float> flat;
  std::vector<int32_t> flags;
  for (size_t r = 0; r < rows.size(); ++r) {
    flat.insert(flat.end(), rows[r].begin(), rows[r].end());
    flags.push_back(static_cast<int>(r) != skip);
  }
  DeviceBuf<float> d_logits(flat);
  DeviceBuf<int32_t> d_flags(flags);
  DeviceBuf<int32_t> d_out(rows.size());  // poisoned with -1
  llm::cuda::argmax_rows(d_logits.ptr, d_flags.ptr, d_out.ptr, static_cast<int>(rows.size()), vocab, nullptr);
  return d_out.download();
}

}  // namespace

TEST(cuda_argmax_follows_the_sampler_rule) {
  require_gpu();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const int vocab = 128256;  // Llama 3's vocabulary: more elements than threads
  std::mt19937 rng(3);
  std::vector<std::vector<float>> rows;
  rows.push_back(random_f32(vocab, rng));  // 0: random
  auto tie = random_f32(vocab, rng);       // 1: the maximum twice: the lower index wins
  tie[70001] = 50.f;
  tie[1025] = 50.f;
  rows.push_back(tie);
  auto with_nan = random_f32(vocab, rng);  // 2: NaNs first and around the maximum
  with_nan[0] = nan;
  with_nan[5] = 40.f;
  with_nan[6] = nan;
  rows.push_back(with_nan);
  rows.push_back(std::vector<float>(vocab, nan));   // 3: all NaN: the last index
  rows.push_back(std::vector<float>(vocab, -inf));  // 4: all -inf: index 0
  auto last = random_f32(vocab, rng);               // 5: the maximum at the very end
  last[vocab - 1] = 60.f;
  rows.push_back(last);
  const auto got = device_argmax(rows, vocab, /*skip=*/-1);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int32_t want = llm::argmax_index(rows[r].data(), vocab);
    std::fprintf(stderr, "  OPCHECK argmax row %zu: device %d, host %d\n", r, got[r], want);
    EXPECT_EQ(got[r], want);
  }
  EXPECT_EQ(got[1], 1025);
  EXPECT_EQ(got[3], vocab - 1);
  EXPECT_EQ(got[4], 0);
}

TEST(cuda_argmax_leaves_unflagged_rows_and_handles_tiny_vocab) {
  require_gpu();
  std::mt19937 rng(4);
  std::vector<std::vector<float>> rows{random_f32(1000, rng), random_f32(1000, rng), random_f32(1000, rng)};
  const auto got = device_argmax(rows, 1000, /*skip=*/1);
  EXPECT_EQ(got[0], llm::argmax_index(rows[0].data(), 1000));
  EXPECT_EQ(got[1], -1);  // untouched poison
  EXPECT_EQ(got[2], llm::argmax_index(rows[2].data(), 1000));
  const auto one = device_argmax({{3.5f}, {-1.0f}}, 1);
  EXPECT_EQ(one[0], 0);
  EXPECT_EQ(one[1], 0);
}

#endif  // LLM_WITH_CUDA
