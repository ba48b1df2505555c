// AVX2 + FMA + F16C kernels (8 floats per vector), compiled for that target only and used when
// the CPU reports the features at runtime.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "backend/cpu/int4_gemm.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/quantize_int8.h"
#include "backend/cpu/weight_types.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define LLM_HAVE_X86_KERNELS 1
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace llm {
namespace cpu {
namespace avx2 {

struct V {
  using reg = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kMaxTT = 6;  // token tile of the packed GEMM (12 accumulators of 16 registers)
  static reg zero() { return _mm256_setzero_ps(); }
  static reg loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg set1(float a) { return _mm256_set1_ps(a); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static reg load_bf16(const uint16_t* p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static reg load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static reg load_i8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  // 2 * kWidth bf16 packed as pairs: lane i = (row i, row kWidth + i).
  static void load_bf16x2(const uint16_t* p, reg& lo, reg& hi) {
    const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
    lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    hi = _mm256_castsi256_ps(_mm256_and_si256(w, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }
};

#include "backend/cpu/kernels_simd.inc"
#include "backend/cpu/kernels_packed.inc"

const Kernels kKernels = {"avx2", gemm_simd, dot_simd, axpy_simd, to_f32_simd, 2 * V::kWidth, packed_bytes_simd, pack_simd, gemm_packed_simd, false};

}  // namespace avx2
}  // namespace cpu
}  // namespace llm

#pragma GCC pop_options
#endif

namespace llm {
namespace cpu {

const Kernels* avx2_kernels() {
#ifdef LLM_HAVE_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    return &avx2::kKernels;
#endif
  return nullptr;
}

}  // namespace cpu
}  // namespace llm
