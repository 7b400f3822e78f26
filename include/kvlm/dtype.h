// Element types of weights and caches.
#pragma once

#include <cstddef>
#include <string_view>

namespace kvlm {

// f32 / f16 / bf16: plain floats. q8: int8 weights in groups of 32 along a
// row with one symmetric f16 scale per group (llama.cpp Q8_0's precision).
// q4: 4-bit weights in groups of 32 along a row with one f16 scale per
// group (llama.cpp Q4_0's size class). q8 and q4 are weight formats only; caches
// and activations stay f16 / f32.
enum class DType { f32, f16, bf16, q8, q4 };

// Bytes per element of the plain float types (q8: 1; q4: not a whole byte, 0).
constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::q8: return 1;
    case DType::q4: return 0;
  }
  return 0;
}
constexpr bool is_quantized(DType t) { return t == DType::q8 || t == DType::q4; }
std::string_view dtype_name(DType t);
// Parses "f32" / "f16" / "bf16" / "q8" / "q4" (also "float32", "float16",
// "bfloat16"); throws Error otherwise.
DType parse_dtype(std::string_view name);

}  // namespace kvlm
