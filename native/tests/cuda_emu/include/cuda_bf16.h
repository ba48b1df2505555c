// CUDA emulator (tests only): __nv_bfloat16 with round-to-nearest-even conversions, as the device does.
#pragma once

#include <cstdint>
#include <cstring>

struct __nv_bfloat16 {
  uint16_t __x;
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  __nv_bfloat16 h;
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    h.__x = static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    return h;
  }
  u += 0x7fffu + ((u >> 16) & 1u);
  h.__x = static_cast<uint16_t>(u >> 16);
  return h;
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 h) {
  const uint32_t u = static_cast<uint32_t>(h.__x) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
