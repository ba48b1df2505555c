// Portable kernels, and the runtime choice between the ISA variants.
#include <cstdlib>
#include <cstring>
#include <string>

#include "backend/cpu/kernels.h"

namespace llm {
namespace cpu {

float bf16_to_f32(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ff;
      u = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {

inline float load_elem(DType dt, const void* base, int64_t i) {
  switch (dt) {
    case DType::F32: {
      float f;
      std::memcpy(&f, static_cast<const char*>(base) + 4 * i, 4);
      return f;
    }
    case DType::BF16: {
      uint16_t b;
      std::memcpy(&b, static_cast<const char*>(base) + 2 * i, 2);
      return bf16_to_f32(b);
    }
    case DType::F16: {
      uint16_t b;
      std::memcpy(&b, static_cast<const char*>(base) + 2 * i, 2);
      return f16_to_f32(b);
    }
    case DType::I8:
    case DType::I4: break;  // needs its scales: only ever packed
  }
  return 0;
}

void gemm_scalar(const float* X, int64_t T, int64_t ldx, const WeightMatrix& W, int64_t o_begin, int64_t o_end,
                 float* Y, int64_t ldy) {
  const int64_t K = W.cols;
  for (int64_t o = o_begin; o < o_end; ++o) {
    for (int64_t t = 0; t < T; ++t) {
      const float* x = X + t * ldx;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; ++j) acc[j] += load_elem(W.dtype, W.data, o * K + k + j) * x[k + j];
      float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      for (; k < K; ++k) s += load_elem(W.dtype, W.data, o * K + k) * x[k];
      Y[t * ldy + (o - o_begin)] = s;
    }
  }
}

float dot_scalar(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

void axpy_scalar(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void to_f32_scalar(DType dt, const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = load_elem(dt, src, i);
}

const Kernels kScalar = {"scalar", gemm_scalar, dot_scalar, axpy_scalar, to_f32_scalar, 0, nullptr, nullptr, nullptr, false};

const Kernels& choose() {
  const char* force = std::getenv("LLM_CPU_ISA");
  const std::string f = force ? force : "";
  if (f == "scalar") return kScalar;
  if (f != "avx2" && f != "avx512")
    if (const Kernels* k = amx_kernels()) return *k;
  if (f != "avx2")
    if (const Kernels* k = avx512_kernels()) return *k;
  if (const Kernels* k = avx2_kernels()) return *k;
  return kScalar;
}

}  // namespace

const Kernels& scalar_kernels() { return kScalar; }

const Kernels& kernels() {
  static const Kernels& chosen = choose();
  return chosen;
}

}  // namespace cpu
}  // namespace llm
