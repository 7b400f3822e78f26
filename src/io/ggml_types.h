// The ggml tensor types a GGUF file may hold that kvlm reads: their ids as
// ggml numbers them, names, and block geometry (elements per block, bytes
// per block), and dequantization to f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace kvlm {

enum class GgmlType : std::uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  bf16 = 30,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;          // as ggml prints it: "F32", "Q4_K", ...
  std::size_t block_elems;   // elements per block (1 for F32/F16/BF16)
  std::size_t block_bytes;   // bytes per block
};

// The type with ggml id `id`, or nullopt when kvlm does not read it.
std::optional<GgmlTypeInfo> ggml_type_info(std::uint32_t id);
GgmlTypeInfo ggml_type_info(GgmlType type);
// "Q3_K (id 11)" for any id ggml defines, "id 99" otherwise: for error messages.
std::string ggml_type_description(std::uint32_t id);

// Dequantizes `n` elements (a whole number of blocks) starting at `src` into
// `dst`, bit-exactly as the gguf Python package's dequantize() does.
void ggml_dequantize(GgmlType type, const std::byte* src, float* dst, std::size_t n);

}  // namespace kvlm
