// Element types of weights and caches.
#pragma once

#include <cstddef>
#include <string_view>

namespace kvlm {

enum class DType { f32, f16, bf16 };

constexpr std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 2; }
std::string_view dtype_name(DType t);
// Parses "f32" / "f16" / "bf16" (also "float32", "float16", "bfloat16"); throws Error otherwise.
DType parse_dtype(std::string_view name);

}  // namespace kvlm
