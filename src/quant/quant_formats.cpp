#include "quant/quant_formats.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"

namespace kvlm::quant {

namespace {
float absmax(const float* x, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}
}  // namespace

void quantize_row_q8(const float* row, std::size_t n, std::int8_t* q, float* scale, std::int32_t* sum) {
  const float m = absmax(row, n);
  *scale = m / 127.0f;
  const float inv = m > 0.0f ? 127.0f / m : 0.0f;
  std::int32_t s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    q[i] = std::int8_t(std::clamp(std::lrint(row[i] * inv), -127L, 127L));
    s += q[i];
  }
  *sum = s;
}

void quantize_row_q4(const float* row, std::size_t n, std::uint8_t* packed, std::uint16_t* scales) {
  for (std::size_t g = 0; g < n / kQ4Group; ++g) {
    const float* w = row + g * kQ4Group;
    // Like Q4_0: the value of largest magnitude maps to -8 exactly, keeping its sign.
    float max_abs = 0.0f, max_val = 0.0f;
    for (std::size_t i = 0; i < kQ4Group; ++i)
      if (std::fabs(w[i]) > max_abs) max_abs = std::fabs(w[i]), max_val = w[i];
    scales[g] = f32_to_f16(max_val / -8.0f);
    const float d = f16_to_f32(scales[g]);
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    for (std::size_t i = 0; i < kQ4Group; ++i) {
      const int v = int(std::clamp(std::lrint(w[i] * inv), -8L, 7L)) + 8;
      const std::size_t col = g * kQ4Group + i;
      const std::size_t byte = (col / kQ4Chunk) * 32 + col % 32;
      const bool high = (col % kQ4Chunk) >= 32;
      packed[byte] = std::uint8_t(high ? (packed[byte] & 0x0f) | (v << 4) : (packed[byte] & 0xf0) | v);
    }
  }
}

int q4_value(const std::uint8_t* packed, std::size_t i) {
  const std::uint8_t b = packed[(i / kQ4Chunk) * 32 + i % 32];
  return int((i % kQ4Chunk) >= 32 ? b >> 4 : b & 0x0f) - 8;
}

float dequantize_q4(const std::uint8_t* packed, const std::uint16_t* scales, std::size_t i) {
  return float(q4_value(packed, i)) * f16_to_f32(scales[i / kQ4Group]);
}

void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr) {
  const float m = absmax(x, n);
  *scale = m / 127.0f;
  const float inv = m > 0.0f ? 127.0f / m : 0.0f;
  for (std::size_t i = 0; i < n; ++i) q[i] = std::int8_t(std::lrint(x[i] * inv));
  if (group_corr)
    for (std::size_t g = 0; g < n / kQ4Group; ++g) {
      std::int32_t s = 0;
      for (std::size_t i = 0; i < kQ4Group; ++i) s += q[g * kQ4Group + i];
      group_corr[g] = -8 * s;
    }
}

}  // namespace kvlm::quant
