// AVX-512F/BW kernels (16 floats per vector), compiled for that target only and used when the
// CPU reports the features at runtime.
// GCC 12 warns about its own intrinsics (`__m512 __Y = __Y;` in _mm512_undefined_*).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "backend/cpu/kernels.h"
#include "backend/cpu/int4_gemm.h"
#include "backend/cpu/int8_bf16_gemm.h"
#include "backend/cpu/quantize_int8.h"
#include "backend/cpu/weight_types.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define LLM_HAVE_AVX512_KERNELS 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx2,fma,f16c")

namespace llm {
namespace cpu {
namespace avx512 {

struct V {
  using reg = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kMaxTT = 12;  // token tile of the packed GEMM (24 accumulators of 32 registers)
  static reg zero() { return _mm512_setzero_ps(); }
  static reg loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg set1(float a) { return _mm512_set1_ps(a); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(reg v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static reg load_bf16(const uint16_t* p) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  static reg load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static reg load_i8(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // 2 * kWidth bf16 packed as pairs: lane i = (row i, row kWidth + i).
  static void load_bf16x2(const uint16_t* p, reg& lo, reg& hi) {
    const __m512i w = _mm512_load_si512(p);
    lo = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
    hi = _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
};

#include "backend/cpu/kernels_simd.inc"
#include "backend/cpu/kernels_packed.inc"

// int8 weights go to the bf16 dot-product kernel where the CPU has AVX512_BF16.
void gemm_packed_avx512(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin,
                        int64_t o_end, float* Y, int64_t ldy) {
  if (W.dtype == DType::I8 && W.pairs)
    gemm_int8_pairs(X, T, ldx, W, o_begin, o_end, Y, ldy);
  else
    gemm_packed_simd(X, T, ldx, W, o_begin, o_end, Y, ldy);
}

const Kernels kKernels = {"avx512", gemm_simd, dot_simd, axpy_simd, to_f32_simd, 2 * V::kWidth, packed_bytes_simd,
                          pack_simd, gemm_packed_avx512, false};

}  // namespace avx512
}  // namespace cpu
}  // namespace llm

#pragma GCC pop_options
#endif

namespace llm {
namespace cpu {

const Kernels* avx512_kernels() {
#ifdef LLM_HAVE_AVX512_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
  {
    static const Kernels table = [] {
      Kernels k = avx512::kKernels;
      k.int8_pairs = cpu_has_avx512_bf16();
      return k;
    }();
    return &table;
  }
#endif
  return nullptr;
}

}  // namespace cpu
}  // namespace llm
