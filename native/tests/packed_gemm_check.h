// What both quantized GEMM tests use: the kernel tables to test, and the check of a kernel's output: against float64 of the operands
// the kernel multiplies (`weight(o, k)` and `act(t, k)`, dequantized), then that each token run
// alone gives the same bits as within the batch.
#pragma once

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "testing.h"

namespace cputest {

// The kernel tables of this CPU that have a packed GEMM (the quantized formats need one).
inline std::vector<const llm::cpu::Kernels*> packed_isas() {
  std::vector<const llm::cpu::Kernels*> k;
  for (const llm::cpu::Kernels* c : {llm::cpu::avx2_kernels(), llm::cpu::avx512_kernels(), llm::cpu::amx_kernels()})
    if (c && c->panel > 0) k.push_back(c);
  return k;
}

// y: T x O from gemm_packed; tolerance relative to the sum of |products|. False after reporting
// the first mismatch.
template <typename Weight, typename Act>
bool packed_gemm_matches(const llm::cpu::Kernels& k, const llm::cpu::PackedMatrix& m, const float* x, int64_t T,
                         const std::vector<float>& y, Weight weight, Act act, double tolerance,
                         const std::string& what) {
  const int64_t K = m.cols, O = m.rows;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < O; ++o) {
      double s = 0, mag = 0;
      for (int64_t kk = 0; kk < K; ++kk) {
        const double p = static_cast<double>(weight(o, kk)) * act(t, kk);
        s += p;
        mag += std::fabs(p);
      }
      if (std::fabs(y[t * O + o] - s) > tolerance * (1 + mag)) {
        testing::report_failure(__FILE__, __LINE__, what + " mismatch");
        return false;
      }
    }
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> y1(O);
    k.gemm_packed(x + t * K, 1, K, m, 0, O, y1.data(), O);
    if (std::memcmp(y1.data(), y.data() + t * O, O * sizeof(float)) != 0) {
      testing::report_failure(__FILE__, __LINE__, what + ": a token alone differs from the batch");
      return false;
    }
  }
  return true;
}

}  // namespace cputest
