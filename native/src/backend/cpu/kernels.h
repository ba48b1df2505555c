// Compute kernels of the CPU backend behind a per-ISA dispatch table (scalar fallback, AVX2+FMA,
// AVX-512, AVX-512 + AMX), chosen once at runtime from the CPU's features (env
// LLM_CPU_ISA=scalar|avx2|avx512|amx forces one). Every output element is computed with one
// accumulation order whatever the batch size or tiling, so a token's results do not depend on
// what else is in the batch.
#pragma once

#include <cstdint>

#include "model/tensor.h"

namespace llm {
namespace cpu {

// A Linear weight [rows = out_features][cols = in_features], row-major, in its stored dtype.
struct WeightMatrix {
  DType dtype = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

// Y[t * ldy + (o - o_begin)] = sum_k X[t * ldx + k] * W[o][k] for t in [0, T), o in [o_begin, o_end).
using GemmFn = void (*)(const float* X, int64_t T, int64_t ldx, const WeightMatrix& W, int64_t o_begin,
                        int64_t o_end, float* Y, int64_t ldy);

// A weight repacked for the SIMD GEMM: panels of `panel` consecutive rows, each panel stored
// k-major ([cols][panel], 16-bit types interleaved so that one load widens to two vectors), the
// last panel zero-padded. Each output is then one f32 accumulation over k in order, whatever
// the tiling or the number of tokens.
struct PackedMatrix {
  DType dtype = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int panel = 0;
  bool pairs = false;  // DType::I8 in the k-pair layout (quantize_int8.h)
};

// Y[t * ldy + (o - o_begin)] = sum_k X[t * ldx + k] * W[o][k]; o_begin a multiple of W.panel.
using PackedGemmFn = void (*)(const float* X, int64_t T, int64_t ldx, const PackedMatrix& W, int64_t o_begin,
                              int64_t o_end, float* Y, int64_t ldy);

struct Kernels {
  const char* isa;
  GemmFn gemm;
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a * x
  void (*to_f32)(DType dtype, const void* src, float* dst, int64_t n);
  // Packed path (panel == 0: none; use gemm). packed_bytes(W) is the buffer size (64-byte aligned
  // allocation by the caller); pack writes panels [p_begin, p_end) of W into dst.
  int panel;
  size_t (*packed_bytes)(const WeightMatrix& W);
  void (*pack)(const WeightMatrix& W, int64_t p_begin, int64_t p_end, void* dst);
  PackedGemmFn gemm_packed;
  // gemm_packed also reads int8 weights in the k-pair layout (PackedMatrix::pairs), with bf16 dot
  // products (AVX512_BF16); the k-major int8 layout it always reads, with f32 FMAs.
  bool int8_pairs;
};

const Kernels& kernels();  // the best for this CPU
const Kernels& scalar_kernels();
const Kernels* avx2_kernels();    // nullptr when the CPU lacks AVX2/FMA/F16C
const Kernels* avx512_kernels();  // nullptr when the CPU lacks AVX-512F/BW
const Kernels* amx_kernels();     // AVX-512 + AMX-BF16 for bf16 weights; nullptr without AMX (CPU or OS)

float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float f);  // round to nearest even
float f16_to_f32(uint16_t bits);

}  // namespace cpu
}  // namespace llm
