// Weight-only int8 quantization of the CPU backend (quantize_int8.h): the quantizer's rounding
// bound, the packed int8 GEMM of every ISA against float64 over the dequantized weights (odd
// shapes, several token tiles, two thread ranges) and its batch invariance, then the whole mid
// fixture against the float64 forward of the unquantized model and against the bf16 backend.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/quantize_int8.h"
#include "cpu_reference.h"
#include "cpu_test_util.h"
#include "packed_gemm_check.h"
#include "llm/error.h"
#include "testing.h"

using namespace llm::cpu;
using cputest::packed_isas;
using cputest::prompt;
using cputest::randn;
using cputest::run_chunked;

namespace {

// A 64-byte aligned int8 packing of W with `panel`, split over two calls as two threads would.
struct Quantized {
  std::vector<uint8_t> buf;
  PackedMatrix m;
};
Quantized quantize(const WeightMatrix& W, int panel, bool pairs) {
  Quantized q;
  q.buf.resize(int8_packed_bytes(W, panel, pairs) + 64);
  void* dst = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(q.buf.data()) + 63) & ~uintptr_t{63});
  const int64_t panels = (W.rows + panel - 1) / panel;
  quantize_int8_panels(W, panel, 0, 1, dst, scalar_kernels().to_f32, pairs);
  quantize_int8_panels(W, panel, 1, panels, dst, scalar_kernels().to_f32, pairs);
  q.m = PackedMatrix{llm::DType::I8, dst, W.rows, W.cols, panel, pairs};
  return q;
}

// scale[o] * q[o][k] read back from the packed layout (k-major, or k-pair-interleaved).
float dequantized(const PackedMatrix& P, int64_t o, int64_t k, bool pairs) {
  const int8_t* q = static_cast<const int8_t*>(P.data);
  const int64_t p = o / P.panel, j = o % P.panel, k2 = (P.cols + 1) / 2 * 2;
  const int64_t at = pairs ? p * k2 * P.panel + (k / 2 * P.panel + j) * 2 + k % 2 : (p * P.cols + k) * P.panel + j;
  return int8_row_scales(P, pairs)[o] * static_cast<float>(q[at]);
}

// What the bf16 dot-product kernel multiplies: x rounded to bf16 (nearest even).
float bf16_rounded(float x) { return bf16_to_f32(f32_to_bf16(x)); }


}  // namespace

TEST(quantizer_rounds_each_weight_to_the_nearest_step_of_its_row) {
  const int64_t O = 37, K = 53, panel = 32;
  auto w = randn(O * K, 3, 0.05f);
  for (int64_t k = 0; k < K; ++k) w[5 * K + k] = 0.0f;  // an all-zero row: scale 0, no NaN
  w[9 * K + 4] = 3.0f;                                  // an outlier sets its row's scale
  for (bool pairs : {false, true}) {  // K = 53 is odd: the pairs layout pads a zero column
    const Quantized q = quantize(WeightMatrix{llm::DType::F32, w.data(), O, K}, panel, pairs);
    const float* scales = int8_row_scales(q.m, pairs);
    for (int64_t o = 0; o < O; ++o) {
      float amax = 0;
      for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(w[o * K + k]));
      EXPECT(scales[o] == amax / 127.0f);
      for (int64_t k = 0; k < K; ++k) {
        const float d = dequantized(q.m, o, k, pairs);
        EXPECT(std::fabs(d - w[o * K + k]) <= 0.5f * scales[o] * (1 + 1e-6f));
      }
    }
    EXPECT(scales[5] == 0.0f);
    EXPECT(dequantized(q.m, 9, 4, pairs) == 3.0f);  // the row's largest weight is exact (q = 127)
    for (int64_t o = O; o < 2 * panel; ++o) EXPECT(scales[o] == 0.0f);  // padding rows
  }
}

TEST(int8_packed_gemm_all_isas_match_float64_and_are_batch_invariant) {
  if (packed_isas().empty()) SKIP("no packed GEMM on this CPU (scalar kernels only)");
  for (int64_t K : {1, 7, 33, 64, 172, 2100}) {  // 2100: more than one K block with several token tiles
    for (int64_t T : {1, 3, 16, 17, 40}) {
      const int64_t O = 70;
      auto x = randn(T * K, K * 31 + T);
      auto w = randn(O * K, K + 11, 0.3f);
      const WeightMatrix W{llm::DType::F32, w.data(), O, K};
      for (const Kernels* k : packed_isas())
      for (bool pairs : {false, true}) {
        if (pairs && !k->int8_pairs) continue;
        const Quantized q = quantize(W, k->panel, pairs);
        std::vector<float> y(T * O, -1.0f);
        k->gemm_packed(x.data(), T, K, q.m, 0, k->panel, y.data(), O);
        k->gemm_packed(x.data(), T, K, q.m, k->panel, O, y.data() + k->panel, O);
        const std::string what = std::string(k->isa) + (pairs ? " int8 pairs" : " int8") + " K=" + std::to_string(K) +
                                 " T=" + std::to_string(T);
        const auto weight = [&](int64_t o, int64_t kk) { return dequantized(q.m, o, kk, pairs); };
        const auto act = [&](int64_t t, int64_t kk) { return pairs ? bf16_rounded(x[t * K + kk]) : x[t * K + kk]; };
        if (!cputest::packed_gemm_matches(*k, q.m, x.data(), T, y, weight, act, 1e-6, what)) return;
      }
    }
  }
}

TEST(mid_fixture_int8_stays_close_to_float64_and_is_batch_and_thread_invariant) {
  const std::string dir = testing::mid_model_dir();
  if (dir.empty()) SKIP("no mid model fixture (run node test/fixtures/make-tiny-model.mjs --size mid)");
  auto m = llm::Model::load(dir);
  if (kernels().panel <= 0) {
    EXPECT_THROWS(llm::make_cpu_backend(m, 1, llm::CpuWeights::Int8), "needs the packed GEMM");
    return;
  }
  if (!kernels().int8_pairs)
    EXPECT_THROWS(llm::make_cpu_backend(m, 1, llm::CpuWeights::Int8Bf16), "needs AVX512_BF16");
  for (llm::CpuWeights mode : {llm::CpuWeights::Int8, llm::CpuWeights::Int8Bf16}) {
  if (mode == llm::CpuWeights::Int8Bf16 && !kernels().int8_pairs) continue;
  const char* name = mode == llm::CpuWeights::Int8 ? "int8" : "int8-bf16";
  const int V = m->config().vocab_size;
  const auto tokens = prompt(48, 2, V);
  const auto want = ref::forward(*m, tokens);
  auto q1 = llm::make_cpu_backend(m, 1, mode);
  q1->init_kv_cache(64, 16);
  const auto got = run_chunked(*q1, V, tokens, 13, 5);
  auto full = llm::make_cpu_backend(m, 2);
  full->init_kv_cache(64, 16);
  const auto bf16 = run_chunked(*full, V, tokens, 48, 6);
  // Error relative to the spread of each position's logits; and the same top token mostly.
  const cputest::LogitError e = cputest::logit_error(want, got, V), e16 = cputest::logit_error(want, bf16, V);
  const double worst = e.worst, worst_bf16 = e16.worst;
  const int same_top = e.same_top;
  std::fprintf(stderr, "  mid %s: max error %.3g logit std (bf16 weights: %.3g); top token as float64 at %d/%zu\n",
               name, worst, worst_bf16, same_top, tokens.size());
  // Measured: 0.18 logit std, 45 of 48 top tokens (random fixture weights, per-row int8), the
  // same with bf16 activations.
  EXPECT(worst < 0.35);
  EXPECT(worst > 100 * worst_bf16);  // it did quantize
  EXPECT(same_top >= static_cast<int>(tokens.size()) * 5 / 6);
  // Another thread count and another chunking: the same bits.
  auto q2 = llm::make_cpu_backend(m, 2, mode);
  q2->init_kv_cache(64, 16);
  const auto again = run_chunked(*q2, V, tokens, 1, 7);
  EXPECT(std::memcmp(again.data(), got.data(), got.size() * sizeof(float)) == 0);
  }
}

TEST(unknown_quantization_is_refused) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("no model fixture");
  auto m = llm::Model::load(dir);
  llm::BackendOptions bo;
  bo.device = "cpu";
  bo.quantization = "int3";
  EXPECT_THROWS(llm::make_backend(m, bo, nullptr), "unknown quantization 'int3'");
}
