// AMX (Intel Advanced Matrix Extensions) GEMM for bf16 weights: the AVX-512 kernel table with its
// packed path replaced for bf16 weights (f32 and f16 weights keep the AVX-512 kernels).
//
// Numerics: the f32 activations are split x = hi + mid + lo into three bf16 (each the nearest
// bf16 to what is left, so |x - hi - mid - lo| <= 2^-27 |x|, below f32's own rounding), and
// TDPBF16PS multiplies them with the bf16 weights (a product of two bf16 is exact in f32),
// accumulating in f32. Two parts were not enough: 1.7e-4 max logit error on the mid bf16 fixture
// against 2.3e-5 for the AVX-512 f32 kernels; three parts give 1.0e-5. Each part is accumulated
// on its own over k blocks of 32 in order, and an output is (hi sum + mid sum) + lo sum, whatever
// the number of tokens, the tiling or the thread split: results stay batch- and thread-invariant.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend/cpu/kernels.h"

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define LLM_HAVE_AMX_KERNELS 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace llm {
namespace cpu {

#ifdef LLM_HAVE_AMX_KERNELS
namespace amx {
namespace {

constexpr int kTileN = 16;               // outputs per B tile (16 f32 columns of 64 bytes)
constexpr int kTileK = 32;               // k per tile step (16 pairs of bf16)
constexpr int kP = 2 * kTileN;           // panel: two B tiles, the AVX-512 table's work unit
constexpr int64_t kTileElems = 16 * 32;  // bf16 elements in one 1 KiB tile
constexpr int kParts = 3;                // bf16 parts of each activation: hi + mid + lo
constexpr int64_t kPrefetchTiles = 2;    // B tiles ahead for the software prefetch (2-32 alike)

const Kernels* g_base = nullptr;  // the AVX-512 table: everything but bf16 packed weights

int64_t padded_k(int64_t K) { return (K + kTileK - 1) / kTileK * kTileK; }

// The OS must enable the tile state (XCR0 bits 17, 18) and grant it to this process.
bool amx_usable() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = d & (1u << 24), bf16 = d & (1u << 22);
  if (!tile || !bf16) return false;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,amx-tile,amx-bf16")

struct TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-5 hold m part rows (C 0-3: 16 f32, A 4 and 5: 32 bf16), tiles 6 and 7 B (16 k pairs x
// 16 outputs).
void configure(int m) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = static_cast<uint8_t>(t < 6 ? m : 16);
  }
  _tile_loadconfig(&cfg);
}

// Round-to-nearest-even bf16 of 16 floats (as the upper halves of 32-bit lanes).
inline __m512i bf16_rne(__m512i u) {
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd);
  return _mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xffff0000u)));
}

// The activations as "part rows": row kParts * t + i is the i-th bf16 part of token t (hi, mid,
// lo). Each part row is its own row of A, so one TDPBF16PS per B tile covers every part of up
// to 5 tokens (one A tile per part took three products per B tile even for 1 token, and 1 token
// then ran at ~13 GB/s on one core against 16.5 for AVX-512). Stored as A tiles: for each block of m
// part rows and each k block, m rows of 32 bf16 64 bytes apart (contiguous tiles also avoid the
// L1 set conflicts of rows a multiple of 4 KiB apart); zero past T and K.
void split_activations(const float* X, int64_t T, int64_t ldx, int64_t K, int m, int64_t row_blocks, uint16_t* dst) {
  const int64_t blocks = padded_k(K) / kTileK;
  std::memset(dst, 0, static_cast<size_t>(row_blocks * blocks * m * kTileK) * sizeof(uint16_t));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t k0 = b * kTileK;
      for (int h = 0; h < 2; ++h) {
        const int64_t n = std::min<int64_t>(16, std::max<int64_t>(0, K - k0 - h * 16));
        if (n == 0) continue;
        const __mmask16 mask = n == 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
        __m512 x = _mm512_maskz_loadu_ps(mask, X + t * ldx + k0 + h * 16);
        for (int part = 0; part < kParts; ++part) {
          const __m512i xb = bf16_rne(_mm512_castps_si512(x));
          x = _mm512_sub_ps(x, _mm512_castsi512_ps(xb));  // exact: what the next part holds
          const int64_t row = t * kParts + part, rb = row / m, r = row % m;
          uint16_t* tile = dst + (rb * blocks + b) * m * kTileK;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kTileK + h * 16),
                              _mm512_cvtepi32_epi16(_mm512_srli_epi32(xb, 16)));
        }
      }
    }
}

// Both stripes of a panel (two weight streams, blocks KiB apart: with one stream AMX loads from
// memory ran ~10% below the AVX-512 kernel at 1 token) times G <= 2 blocks of m part rows (a,
// a + ablock), over all k blocks, into c (row stride kP floats). C tile 2g + h: block g, stripe h.
template <int G>
inline void panel_rows(const uint16_t* a, int64_t ablock, int64_t astride, const uint16_t* s0, const uint16_t* s1,
                       int64_t blocks, float* c, int m) {
  static_assert(G >= 1 && G <= 2, "four C tiles");
  _tile_zero(0);
  _tile_zero(1);
  if (G > 1) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int64_t b = 0; b < blocks; ++b, a += astride) {
    const uint16_t* b0 = s0 + b * kTileElems;
    const uint16_t* b1 = s1 + b * kTileElems;
    // Ahead into L2 only (prefetcht1): AMX loads stall on memory, and the hardware prefetcher
    // alone left 16 tokens at ~60% of the bandwidth; into L1 was slower.
    const char* ahead0 = reinterpret_cast<const char*>(b0 + kPrefetchTiles * kTileElems);
    const char* ahead1 = reinterpret_cast<const char*>(b1 + kPrefetchTiles * kTileElems);
    for (int l = 0; l < 1024; l += 64) {
      __builtin_prefetch(ahead0 + l, 0, 2);
      __builtin_prefetch(ahead1 + l, 0, 2);
    }
    _tile_loadd(6, b0, 64);
    _tile_loadd(7, b1, 64);
    _tile_loadd(4, a, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (G > 1) {
      _tile_loadd(5, a + ablock, 64);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  constexpr int64_t ld = kP * sizeof(float);
  const int64_t cb = static_cast<int64_t>(m) * kP;
  _tile_stored(0, c, ld);
  _tile_stored(1, c + kTileN, ld);
  if (G > 1) {
    _tile_stored(2, c + cb, ld);
    _tile_stored(3, c + cb + kTileN, ld);
  }
}

void gemm_bf16(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin, int64_t o_end,
               float* Y, int64_t ldy) {
  if (T <= 0 || o_begin >= o_end) return;
  const int64_t K = W.cols, blocks = padded_k(K) / kTileK;
  const int64_t rows = T * kParts;
  const int m = static_cast<int>(std::min<int64_t>(rows, 16));  // tile rows: no padding below 16 part rows
  const int64_t row_blocks = (rows + m - 1) / m;
  thread_local std::vector<uint16_t> abuf;
  thread_local std::vector<float> cbuf;
  const size_t need = static_cast<size_t>(row_blocks * blocks * m * kTileK);
  if (abuf.size() < need) abuf.resize(need);
  if (cbuf.size() < static_cast<size_t>(row_blocks * m * kP)) cbuf.resize(static_cast<size_t>(row_blocks * m * kP));
  split_activations(X, T, ldx, K, m, row_blocks, abuf.data());

  configure(m);
  const uint16_t* w = static_cast<const uint16_t*>(W.data);
  const int64_t sstride = blocks * kTileElems, astride = m * kTileK, ablock = blocks * astride;
  float* c = cbuf.data();
  for (int64_t p = o_begin / kP, pe = (o_end + kP - 1) / kP; p < pe; ++p) {
    // Two row blocks per pass: the first pass streams the panel from memory, later ones
    // (more than 32 part rows) re-read it from L2.
    const uint16_t* s0 = w + 2 * p * sstride;
    for (int64_t rb = 0; rb < row_blocks; rb += 2) {
      const uint16_t* a = abuf.data() + rb * ablock;
      if (rb + 1 == row_blocks)
        panel_rows<1>(a, ablock, astride, s0, s0 + sstride, blocks, c + rb * m * kP, m);
      else
        panel_rows<2>(a, ablock, astride, s0, s0 + sstride, blocks, c + rb * m * kP, m);
    }
    // Each output: its parts' sums added in one fixed order.
    const int64_t col0 = p * kP - o_begin, cols = std::min<int64_t>(kP, o_end - p * kP);
    for (int64_t t = 0; t < T; ++t) {
      const float* r = c + t * kParts * kP;
      float* y = Y + t * ldy + col0;
      for (int64_t j = 0; j < cols; ++j) y[j] = (r[j] + r[kP + j]) + r[2 * kP + j];
    }
  }
  _tile_release();
}

#pragma GCC pop_options

size_t packed_bytes(const WeightMatrix& W) {
  if (W.dtype != DType::BF16) return g_base->packed_bytes(W);
  return static_cast<size_t>((W.rows + kP - 1) / kP) * kP * static_cast<size_t>(padded_k(W.cols)) * sizeof(uint16_t);
}

// Stripes of 16 outputs (two per panel), each its k blocks' 1 KiB B tiles in order; tile row r
// holds, for each of the 16 outputs, the weights at k = 32b + 2r and 32b + 2r + 1. Zero past
// rows and K.
void pack(const WeightMatrix& W, int64_t p_begin, int64_t p_end, void* dst) {
  if (W.dtype != DType::BF16) return g_base->pack(W, p_begin, p_end, dst);
  const uint16_t* src = static_cast<const uint16_t*>(W.data);
  const int64_t K = W.cols, blocks = padded_k(K) / kTileK;
  uint16_t* out = static_cast<uint16_t*>(dst);
  for (int64_t p = p_begin; p < p_end; ++p)
    for (int64_t b = 0; b < blocks; ++b)
      for (int nb = 0; nb < 2; ++nb) {
        uint16_t* tile = out + ((2 * p + nb) * blocks + b) * kTileElems;
        for (int n = 0; n < kTileN; ++n) {
          const int64_t row = p * kP + nb * kTileN + n;
          for (int i = 0; i < kTileK; ++i) {
            const int64_t k = b * kTileK + i;
            tile[(i / 2) * 2 * kTileN + n * 2 + i % 2] = row < W.rows && k < K ? src[row * K + k] : uint16_t{0};
          }
        }
      }
}

void gemm_packed(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin, int64_t o_end,
                 float* Y, int64_t ldy) {
  if (W.dtype != DType::BF16) return g_base->gemm_packed(X, T, ldx, W, o_begin, o_end, Y, ldy);
  gemm_bf16(X, T, ldx, W, o_begin, o_end, Y, ldy);
}

}  // namespace
}  // namespace amx
#endif

const Kernels* amx_kernels() {
#ifdef LLM_HAVE_AMX_KERNELS
  static const Kernels* table = []() -> const Kernels* {
    const Kernels* base = avx512_kernels();
    if (!base || base->panel != amx::kP || !amx::amx_usable()) return nullptr;
    amx::g_base = base;
    static Kernels k = *base;
    k.isa = "amx";
    k.packed_bytes = amx::packed_bytes;
    k.pack = amx::pack;
    k.gemm_packed = amx::gemm_packed;
    return &k;
  }();
  return table;
#else
  return nullptr;
#endif
}

}  // namespace cpu
}  // namespace llm
