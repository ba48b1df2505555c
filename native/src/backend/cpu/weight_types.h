// 16-bit storage types of weights, kept as stored and widened to f32 in registers.
#pragma once

#include <cstdint>

namespace llm {
namespace cpu {

struct Bf16 {
  uint16_t bits;
};
struct F16 {
  uint16_t bits;
};

}  // namespace cpu
}  // namespace llm
