// GCC 12 warns about its own intrinsics (`__m512 __Y = __Y;` in _mm512_undefined_*).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "backend/cpu/int4_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "backend/cpu/quantize_int4.h"

namespace llm {
namespace cpu {

#if defined(__GNUC__) && defined(__x86_64__)

bool cpu_has_avx512_vnni() {
  static const bool has = [] {
    const char* off = std::getenv("LLM_CPU_NO_VNNI");  // =1: the AVX2 kernel instead (for tests, comparisons)
    if (off && std::string(off) == "1") return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
  }();
  return has;
}

namespace {

constexpr int kTT = 4;  // tokens per tile

// The tile's activations: token t's quantized row at q + t * kpad, its group scales and offsets.
struct Tile {
  const int8_t* q;
  const float* scale;
  const int32_t* offset;
  int64_t kpad, groups;
};

inline int32_t quad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- AVX-512 VNNI: P = 32 (two stripes of 16 rows, one zmm per stripe vector) ----

// NP panels (`pstride` bytes and `sstride` scales apart) x TT tokens into out[t][NP * 32].
template <int NP, int TT>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void tile512(const Tile& x, const uint8_t* w, int64_t pstride,
                                                                    const uint16_t* sw, int64_t sstride, float* out) {
  constexpr int P = 32, S = 16;
  const __m512i low = _mm512_set1_epi8(0x0f);
  __m512 acc[NP][2][TT];
  for (int p = 0; p < NP; ++p)
    for (int s = 0; s < 2; ++s)
      for (int t = 0; t < TT; ++t) acc[p][s][t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < x.groups; ++g) {
    __m512i sum[NP][2][TT];
    for (int p = 0; p < NP; ++p)
      for (int s = 0; s < 2; ++s)
        for (int t = 0; t < TT; ++t) sum[p][s][t] = _mm512_setzero_si512();
    for (int v = 0; v < 4; ++v) {
      __m512i xlo[TT], xhi[TT];
      for (int t = 0; t < TT; ++t) {
        const int8_t* q = x.q + t * x.kpad + g * kInt4Group;
        xlo[t] = _mm512_set1_epi32(quad(q + 4 * v));
        xhi[t] = _mm512_set1_epi32(quad(q + 4 * (v + 4)));
      }
      for (int p = 0; p < NP; ++p)
        for (int s = 0; s < 2; ++s) {
          const __m512i raw = _mm512_load_si512(w + p * pstride + (g * 2 + s) * 16 * S + v * 4 * S);
          const __m512i lo = _mm512_and_si512(raw, low);
          const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
          for (int t = 0; t < TT; ++t) {
            sum[p][s][t] = _mm512_dpbusd_epi32(sum[p][s][t], lo, xlo[t]);
            sum[p][s][t] = _mm512_dpbusd_epi32(sum[p][s][t], hi, xhi[t]);
          }
        }
    }
    for (int t = 0; t < TT; ++t) {
      const __m512i off = _mm512_set1_epi32(x.offset[t * x.groups + g]);
      const __m512 xs = _mm512_set1_ps(x.scale[t * x.groups + g]);
      for (int p = 0; p < NP; ++p)
        for (int s = 0; s < 2; ++s) {
          const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sw + p * sstride + g * P + s * S)));
          const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(sum[p][s][t], off));
          acc[p][s][t] = _mm512_fmadd_ps(f, _mm512_mul_ps(ws, xs), acc[p][s][t]);
        }
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int p = 0; p < NP; ++p)
      for (int s = 0; s < 2; ++s) _mm512_storeu_ps(out + t * NP * P + p * P + s * S, acc[p][s][t]);
}

// ---- AVX2: any P with S a multiple of 8 (a stripe vector is S / 8 ymm of 8 rows) ----

template <int S, int NP, int TT>
__attribute__((target("avx2,fma,f16c"))) void tile256(const Tile& x, const uint8_t* w, int64_t pstride,
                                                      const uint16_t* sw, int64_t sstride, float* out) {
  constexpr int P = 2 * S, H = S / 8;  // H ymm per stripe vector
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[NP][2 * H][TT];
  for (int p = 0; p < NP; ++p)
    for (int s = 0; s < 2 * H; ++s)
      for (int t = 0; t < TT; ++t) acc[p][s][t] = _mm256_setzero_ps();
  for (int64_t g = 0; g < x.groups; ++g) {
    __m256i sum[NP][2 * H][TT];
    for (int p = 0; p < NP; ++p)
      for (int s = 0; s < 2 * H; ++s)
        for (int t = 0; t < TT; ++t) sum[p][s][t] = _mm256_setzero_si256();
    for (int v = 0; v < 4; ++v) {
      __m256i xlo[TT], xhi[TT];
      for (int t = 0; t < TT; ++t) {
        const int8_t* q = x.q + t * x.kpad + g * kInt4Group;
        xlo[t] = _mm256_set1_epi32(quad(q + 4 * v));
        xhi[t] = _mm256_set1_epi32(quad(q + 4 * (v + 4)));
      }
      for (int p = 0; p < NP; ++p)
        for (int s = 0; s < 2 * H; ++s) {  // 8-row lanes: stripe s / H, half s % H
          const uint8_t* at = w + p * pstride + (g * 2 + s / H) * 16 * S + v * 4 * S + (s % H) * 32;
          const __m256i raw = _mm256_load_si256(reinterpret_cast<const __m256i*>(at));
          const __m256i lo = _mm256_and_si256(raw, low);
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
          for (int t = 0; t < TT; ++t) {
            // u8 x s8 pairs to s16 (at most 4 * 15 * 127 per lane after the add: no saturation), then to s32.
            const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xlo[t]), _mm256_maddubs_epi16(hi, xhi[t]));
            sum[p][s][t] = _mm256_add_epi32(sum[p][s][t], _mm256_madd_epi16(pairs, ones));
          }
        }
    }
    for (int t = 0; t < TT; ++t) {
      const __m256i off = _mm256_set1_epi32(x.offset[t * x.groups + g]);
      const __m256 xs = _mm256_set1_ps(x.scale[t * x.groups + g]);
      for (int p = 0; p < NP; ++p)
        for (int s = 0; s < 2 * H; ++s) {
          const __m256 ws = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sw + p * sstride + g * P + s * 8)));
          const __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum[p][s][t], off));
          acc[p][s][t] = _mm256_fmadd_ps(f, _mm256_mul_ps(ws, xs), acc[p][s][t]);
        }
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int p = 0; p < NP; ++p)
      for (int s = 0; s < 2 * H; ++s) _mm256_storeu_ps(out + t * NP * P + p * P + s * 8, acc[p][s][t]);
}

using TileFn = void (*)(const Tile&, const uint8_t*, int64_t, const uint16_t*, int64_t, float*);

// Panels per call for a tile of TT tokens: enough independent sums to hide the dot product's
// latency, few enough to stay in registers (32 zmm; 16 ymm, with two ymm per row stripe at P 32).
constexpr int panels512(int tt) { return tt == 1 ? 4 : tt == 2 ? 2 : 1; }
constexpr int panels256(int tt) { return tt == 1 ? 2 : 1; }
constexpr int kMaxPanels = 4;

struct TileKernel {
  TileFn one, wide;  // one panel; `panels` panels
  int panels;
};

template <int TT>
TileKernel tile_kernel(int panel) {
  if (panel == 32 && cpu_has_avx512_vnni())
    return {tile512<1, TT>, tile512<panels512(TT), TT>, panels512(TT)};
  if (panel == 32) return {tile256<16, 1, TT>, tile256<16, panels256(TT), TT>, panels256(TT)};
  return {tile256<8, 1, TT>, tile256<8, panels256(TT), TT>, panels256(TT)};
}

struct TileTable {
  TileKernel k[kTT + 1];  // by tokens in the tile
  explicit TileTable(int panel)
      : k{{}, tile_kernel<1>(panel), tile_kernel<2>(panel), tile_kernel<3>(panel), tile_kernel<4>(panel)} {}
};

}  // namespace

void gemm_int4(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin, int64_t o_end,
               float* Y, int64_t ldy) {
  thread_local Int4Rows x;  // this call's own quantized copy of X
  x.resize(T, W.cols);
  x.quantize(X, ldx, W.cols, 0, T);
  gemm_int4_rows(x, T, W, o_begin, o_end, Y, ldy);
}

void gemm_int4_rows(const Int4Rows& xr, int64_t T, const PackedMatrix& W, int64_t o_begin, int64_t o_end, float* Y,
                    int64_t ldy) {
  static const TileTable t32(32), t16(16);
  const TileTable& tiles = W.panel == 32 ? t32 : t16;
  const int P = W.panel;
  const int64_t G = xr.groups, kpad = xr.kpad;
  const int8_t* q = xr.q.data();
  const float* xs = xr.scale.data();
  const int32_t* off = xr.offset.data();
  const uint8_t* w = static_cast<const uint8_t*>(W.data);
  const uint16_t* scales = int4_scales(W);
  const int64_t pstride = G * kInt4Group * P / 2, sstride = G * P;
  alignas(64) float out[kTT * kMaxPanels * 32];
  // Up to kMaxPanels panels at a time, every token tile over them: the panels' weights come from
  // memory once per call and from cache for the other tiles.
  for (int64_t o = o_begin; o < o_end;) {
    const int chunk = static_cast<int>(std::min<int64_t>(kMaxPanels, (o_end - o + P - 1) / P));
    for (int64_t t0 = 0; t0 < T; t0 += kTT) {
      const int tt = static_cast<int>(std::min<int64_t>(kTT, T - t0));
      const TileKernel& k = tiles.k[tt];
      const Tile x{q + t0 * kpad, xs + t0 * G, off + t0 * G, kpad, G};
      for (int j = 0; j < chunk;) {
        const int64_t at = o + j * P;
        // Several panels while whole ones remain, else one (the last may be partial).
        const bool wide = k.panels > 1 && j + k.panels <= chunk && at + k.panels * P <= o_end;
        const int n = wide ? k.panels : 1;
        (wide ? k.wide : k.one)(x, w + (at / P) * pstride, pstride, scales + (at / P) * sstride, sstride, out);
        const int64_t cols = std::min<int64_t>(n * P, o_end - at);
        for (int t = 0; t < tt; ++t)
          std::memcpy(Y + (t0 + t) * ldy + (at - o_begin), out + t * n * P, static_cast<size_t>(cols) * sizeof(float));
        j += n;
      }
    }
    o += static_cast<int64_t>(chunk) * P;
  }
}

#else

bool cpu_has_avx512_vnni() { return false; }
void gemm_int4(const float*, int64_t, int64_t, const PackedMatrix&, int64_t, int64_t, float*, int64_t) {}
void gemm_int4_rows(const Int4Rows&, int64_t, const PackedMatrix&, int64_t, int64_t, float*, int64_t) {}

#endif

}  // namespace cpu
}  // namespace llm
