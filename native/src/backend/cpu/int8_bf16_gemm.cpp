// GCC 12 warns about its own intrinsics (`__m512 __Y = __Y;` in _mm512_undefined_*).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "backend/cpu/int8_bf16_gemm.h"

#include <algorithm>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "backend/cpu/quantize_int8.h"

namespace llm {
namespace cpu {

#if defined(__GNUC__) && defined(__x86_64__)
#define LLM_HAVE_INT8_BF16 1

bool cpu_has_avx512_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512bf16");
}

namespace {

constexpr int kP = 32;   // rows per panel: two stripes of 16 f32 lanes
constexpr int kTT = 8;   // tokens per tile: 16 accumulators

// 16 rows x 2 k of int8 (32 bytes, pairs adjacent) as 16 bf16 pairs.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline __m512bh widen_pairs(const int8_t* p) {
  const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  const __m512 hi =
      _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
  return _mm512_cvtne2ps_pbh(hi, lo);  // elements 0..15 from lo, 16..31 from hi: lane i = rows' pair i
}

// NP panels (32 rows each, `pstride` bytes apart) x TT tokens; xp: the tile's activation pairs
// k-major ([kp][t]); out[t][NP * 32]. Several panels for small tiles: enough independent
// accumulators to hide VDPBF16PS's latency (one output's sum runs through one accumulator in k
// order whatever NP and TT are, so results do not depend on the tiling).
template <int NP, int TT>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void panel_tile(const uint32_t* xp, const int8_t* w,
                                                                      int64_t pstride, int64_t kpairs, float* out) {
  __m512 acc[NP][2][TT];
  for (int p = 0; p < NP; ++p)
    for (int h = 0; h < 2; ++h)
      for (int t = 0; t < TT; ++t) acc[p][h][t] = _mm512_setzero_ps();
  for (int64_t kp = 0; kp < kpairs; ++kp, w += 2 * kP, xp += TT) {
    __m512bh lo[NP], hi[NP];
    for (int p = 0; p < NP; ++p) {
      __builtin_prefetch(w + p * pstride + 32 * 2 * kP, 0, 3);
      lo[p] = widen_pairs(w + p * pstride);
      hi[p] = widen_pairs(w + p * pstride + kP);
    }
    for (int t = 0; t < TT; ++t) {
      const __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(xp[t])));
      for (int p = 0; p < NP; ++p) {
        acc[p][0][t] = _mm512_dpbf16_ps(acc[p][0][t], lo[p], x);
        acc[p][1][t] = _mm512_dpbf16_ps(acc[p][1][t], hi[p], x);
      }
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int p = 0; p < NP; ++p) {
      _mm512_storeu_ps(out + t * NP * kP + p * kP, acc[p][0][t]);
      _mm512_storeu_ps(out + t * NP * kP + p * kP + 16, acc[p][1][t]);
    }
}

// Panels per call for a tile of TT tokens (2 * NP * TT accumulators of 32 registers).
constexpr int panels_for(int tt) { return tt == 1 ? 4 : tt == 2 ? 3 : tt <= 4 ? 2 : 1; }

using TileFn = void (*)(const uint32_t*, const int8_t*, int64_t, int64_t, float*);
template <int TT>
constexpr TileFn tile(bool wide) {
  return wide ? panel_tile<panels_for(TT), TT> : panel_tile<1, TT>;
}
// [tokens][0: one panel, 1: panels_for(tokens) panels]
const TileFn kTiles[kTT + 1][2] = {{nullptr, nullptr},         {tile<1>(false), tile<1>(true)},
                                   {tile<2>(false), tile<2>(true)}, {tile<3>(false), tile<3>(true)},
                                   {tile<4>(false), tile<4>(true)}, {tile<5>(false), tile<5>(true)},
                                   {tile<6>(false), tile<6>(true)}, {tile<7>(false), tile<7>(true)},
                                   {tile<8>(false), tile<8>(true)}};

}  // namespace

void gemm_int8_pairs(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin, int64_t o_end,
                     float* Y, int64_t ldy) {
  const int64_t K = W.cols, kpairs = (K + 1) / 2;
  const int8_t* q = static_cast<const int8_t*>(W.data);
  const float* scale = int8_row_scales(W, true);
  thread_local std::vector<uint32_t> xbuf;
  xbuf.resize(static_cast<size_t>(kpairs * kTT));
  alignas(64) float out[kTT * kP];  // TT x NP * 32 floats (NP * TT <= 8)
  for (int64_t t0 = 0; t0 < T; t0 += kTT) {
    const int tt = static_cast<int>(std::min<int64_t>(kTT, T - t0));
    // The tile's activations as bf16 pairs, k-major: one 32-bit broadcast per token and pair.
    for (int t = 0; t < tt; ++t) {
      const float* x = X + (t0 + t) * ldx;
      for (int64_t kp = 0; kp < kpairs; ++kp) {
        // The activations' one rounding.
        const uint32_t a = f32_to_bf16(x[2 * kp]);
        const uint32_t b = 2 * kp + 1 < K ? f32_to_bf16(x[2 * kp + 1]) : 0;
        xbuf[static_cast<size_t>(kp * tt + t)] = a | (b << 16);
      }
    }
    const int np = panels_for(tt);
    const int64_t pstride = kpairs * 2 * kP;
    for (int64_t o = o_begin; o < o_end;) {
      // Several panels while whole ones remain, else one (the last may be partial).
      const bool wide = np > 1 && o + np * kP <= o_end;
      const int n = wide ? np : 1;
      kTiles[tt][wide ? 1 : 0](xbuf.data(), q + (o / kP) * pstride, pstride, kpairs, out);
      const int64_t cols = std::min<int64_t>(n * kP, o_end - o);
      for (int t = 0; t < tt; ++t)
        for (int64_t c = 0; c < cols; ++c) Y[(t0 + t) * ldy + (o - o_begin) + c] = out[t * n * kP + c] * scale[o + c];
      o += n * kP;
    }
  }
}

#else

bool cpu_has_avx512_bf16() { return false; }
void gemm_int8_pairs(const float*, int64_t, int64_t, const PackedMatrix&, int64_t, int64_t, float*, int64_t) {}

#endif

}  // namespace cpu
}  // namespace llm
