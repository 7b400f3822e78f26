// Scalar quantizers and dequantizers of the q8 and q4 weight formats (layouts
// in core/matrix_view.h), and of the per-token int8 activations the
// quantized matmuls multiply them with. Used by the converter, the loader, the
// generic kernels and the tests; the SIMD kernels must agree with these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kvlm::quant {

constexpr std::size_t kQ4Group = 32;   // columns per q4 scale
constexpr std::size_t kQ4Chunk = 64;   // columns per 32-byte packed q4 chunk

// q8: w[i] ~= q[i] * scale with scale = absmax / 127, q in [-127, 127].
void quantize_row_q8(const float* row, std::size_t n, std::int8_t* q, float* scale, std::int32_t* sum);

// q4: per group of 32, scale = absmax / 7 (f16, as stored), q = clamp(round(w / scale), -8, 7).
// n must be a multiple of kQ4Chunk. packed: n / 2 bytes; scales: n / 32 f16 bits.
void quantize_row_q4(const float* row, std::size_t n, std::uint8_t* packed, std::uint16_t* scales);
// The integer value (in [-8, 7]) of column i of a packed q4 row.
int q4_value(const std::uint8_t* packed, std::size_t i);
float dequantize_q4(const std::uint8_t* packed, const std::uint16_t* scales, std::size_t i);

// Activations: one symmetric scale per token (CTranslate2-style dynamic int8).
// q: n int8; group_corr (if non-null): for each group of 32, -8 * sum of its q
// (the correction that lets q4 kernels multiply the stored unsigned nibbles).
void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr);

}  // namespace kvlm::quant
