#include "quant/quant_formats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"

namespace kvlm::quant {

namespace {
float absmax(const float* x, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// Where group g of row r's block starts in a q8 matrix.
std::size_t q8_group_start(std::size_t cols, std::size_t r, std::size_t g) {
  return (r / kBlockRows) * q8_block_bytes(cols) + g * kQ8GroupBytes;
}
std::size_t q8_byte(std::size_t cols, std::size_t r, std::size_t c) {
  const std::size_t in_group = c % kQ4Group;
  return q8_group_start(cols, r, c / kQ4Group) + in_group / 4 * kQ8BlockBytes + (r % kBlockRows) * 4 + c % 4;
}
std::size_t q8_scale_byte(std::size_t cols, std::size_t r, std::size_t g) {
  return q8_group_start(cols, r, g) + q8_group_quads(cols / 4, g) * kQ8BlockBytes + (r % kBlockRows) * 2;
}
}  // namespace

void quantize_row_q8(const float* row, std::size_t cols, std::size_t r, std::uint8_t* data) {
  for (std::size_t g = 0, at = 0; at < cols; ++g, at += kQ4Group) {
    const std::size_t len = std::min(kQ4Group, cols - at);
    // The stored f16 scale is the one the weights are rounded against; a group
    // too large for f16 takes its largest finite value and saturates.
    const std::uint16_t scale = f32_to_f16(std::min(absmax(row + at, len) / 127.0f, 65504.0f));
    std::memcpy(data + q8_scale_byte(cols, r, g), &scale, 2);
    const float d = f16_to_f32(scale);
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    for (std::size_t c = at; c < at + len; ++c)
      data[q8_byte(cols, r, c)] = std::uint8_t(std::clamp(std::lrint(row[c] * inv), -127L, 127L) + 128);
  }
}

int q8_value(const MatrixView& w, std::size_t r, std::size_t c) {
  return int(static_cast<const std::uint8_t*>(w.data)[q8_byte(w.cols, r, c)]) - 128;
}

float q8_scale(const MatrixView& w, std::size_t r, std::size_t g) {
  std::uint16_t bits;
  std::memcpy(&bits, static_cast<const std::uint8_t*>(w.data) + q8_scale_byte(w.cols, r, g), 2);
  return f16_to_f32(bits);
}

float dequantize_q8(const MatrixView& w, std::size_t r, std::size_t c) {
  return float(q8_value(w, r, c)) * q8_scale(w, r, c / kQ4Group);
}

namespace {
// Where row r's group g lies in a q4 matrix (weights and scales).
Q4BlockPlace q4_group_place(std::size_t rows, std::size_t cols, std::size_t r, std::size_t g) {
  Q4BlockPlace p = q4_block_place(rows / kQ4BlockRows, cols / kQ4Group, r / kQ4BlockRows);
  p.data += g * p.group_stride;
  p.scales += g * p.group_stride;
  return p;
}
// Byte holding weight (r, c), and whether it is the high nibble.
std::size_t q4_byte(std::size_t rows, std::size_t cols, std::size_t r, std::size_t c) {
  return q4_group_place(rows, cols, r, c / kQ4Group).data + (c % kQ4Group) / 8 * 64 + (r % kQ4BlockRows) * 4 + c % 4;
}
bool q4_high(std::size_t c) { return c % 8 >= 4; }
std::size_t q4_scale_byte(std::size_t rows, std::size_t cols, std::size_t r, std::size_t g) {
  return q4_group_place(rows, cols, r, g).scales + (r % kQ4BlockRows) * 2;
}
}  // namespace

void quantize_row_q4(const float* row, std::size_t rows, std::size_t cols, std::size_t r, std::uint8_t* data) {
  for (std::size_t g = 0; g < cols / kQ4Group; ++g) {
    const float* w = row + g * kQ4Group;
    // Like Q4_0: the value of largest magnitude maps to -8 exactly, keeping its sign.
    float max_abs = 0.0f, max_val = 0.0f;
    for (std::size_t i = 0; i < kQ4Group; ++i)
      if (std::fabs(w[i]) > max_abs) max_abs = std::fabs(w[i]), max_val = w[i];
    const std::uint16_t scale = f32_to_f16(max_val / -8.0f);
    std::memcpy(data + q4_scale_byte(rows, cols, r, g), &scale, 2);
    const float d = f16_to_f32(scale);
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    for (std::size_t i = 0; i < kQ4Group; ++i) {
      const int v = int(std::clamp(std::lrint(w[i] * inv), -8L, 7L)) + 8;
      const std::size_t col = g * kQ4Group + i;
      std::uint8_t& byte = data[q4_byte(rows, cols, r, col)];
      byte = std::uint8_t(q4_high(col) ? (byte & 0x0f) | (v << 4) : (byte & 0xf0) | v);
    }
  }
}

int q4_value(const MatrixView& w, std::size_t r, std::size_t c) {
  const std::uint8_t b = static_cast<const std::uint8_t*>(w.data)[q4_byte(w.rows, w.cols, r, c)];
  return int(q4_high(c) ? b >> 4 : b & 0x0f) - 8;
}

float q4_scale(const MatrixView& w, std::size_t r, std::size_t g) {
  std::uint16_t bits;
  std::memcpy(&bits, static_cast<const std::uint8_t*>(w.data) + q4_scale_byte(w.rows, w.cols, r, g), 2);
  return f16_to_f32(bits);
}

float dequantize_q4(const MatrixView& w, std::size_t r, std::size_t c) {
  return float(q4_value(w, r, c)) * q4_scale(w, r, c / kQ4Group);
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

void quantize_activations_grouped(const float* x, std::size_t n, std::int8_t* q, float* scales,
                                  std::int32_t* group_corr, QuantizeFn quantize) {
  for (std::size_t g = 0, at = 0; at < n; ++g, at += kQ4Group) {
    const std::size_t len = std::min(kQ4Group, n - at);
    quantize(x + at, len, q + at, &scales[g], nullptr);
    std::int32_t sum = 0;
    for (std::size_t i = 0; i < len; ++i) sum += q[at + i];
    group_corr[g] = -8 * sum;
  }
}

}  // namespace kvlm::quant
