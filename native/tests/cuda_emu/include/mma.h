// CUDA emulator (tests only): nvcuda::wmma for 16x16x16 tiles. A fragment holds its whole tile
// (not a lane's share); the warp-collective load, mma and store run on lane 0 only (its copy is
// the warp's result, and the other lanes' copies are never read), with f32 accumulation.
#pragma once

#include <cstddef>

#include "cuda_bf16.h"
#include "../emu_device.h"

namespace nvcuda {
namespace wmma {

struct matrix_a;
struct matrix_b;
struct accumulator;
struct row_major;
struct col_major;
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "the emulator has 16x16x16 tiles only");
  static constexpr int num_elements = 256;
  float x[256];  // [row][col] of the tile this fragment holds
};

namespace detail {
inline float to_float(float v) { return v; }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
inline bool leader() { return ::emu::lane_id() == 0; }
}  // namespace detail

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, float v) {
  for (float& e : f.x) e = v;
}

// matrix_a is M x K, matrix_b is K x N; `ldm` counts elements between rows (row_major) or
// columns (col_major) in memory.
template <class Use, int M, int N, int K, class T, class L, class P>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  if (!detail::leader()) return;
  constexpr bool row = std::is_same<L, row_major>::value;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = detail::to_float(row ? p[static_cast<size_t>(r) * ldm + c] : p[static_cast<size_t>(c) * ldm + r]);
}

template <class TA, class LA, class TB, class LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, TA, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, TB, LB>& b,
                     const fragment<accumulator, 16, 16, 16, float>& c) {
  if (!detail::leader()) return;
  float out[256];
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      float s = c.x[i * 16 + j];
      for (int k = 0; k < 16; ++k) s += a.x[i * 16 + k] * b.x[k * 16 + j];
      out[i * 16 + j] = s;
    }
  for (int e = 0; e < 256; ++e) d.x[e] = out[e];
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned ldm,
                              layout_t layout) {
  if (!detail::leader()) return;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      float& dst = layout == mem_row_major ? p[static_cast<size_t>(r) * ldm + c] : p[static_cast<size_t>(c) * ldm + r];
      dst = f.x[r * 16 + c];
    }
}

}  // namespace wmma
}  // namespace nvcuda
