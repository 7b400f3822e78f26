// Scalar conversions between f32 and the 16-bit float formats, bit exact
// with IEEE-754 round-to-nearest-even (the same results as F16C / torch).
// Internal linkage on purpose: the ISA kernel files include this with
// AVX-512 flags, and a shared inline copy could leak into generic code.
#pragma once

#include <bit>
#include <cstdint>

namespace kvlm {

static inline float bf16_to_f32(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t(h) << 16); }

static inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return std::uint16_t(u >> 16);
}

static inline float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
  if (mant == 0) return std::bit_cast<float>(sign);
  // Subnormal: value = mant * 2^-24.
  const float magnitude = float(mant) * 0x1p-24f;
  return sign ? -magnitude : magnitude;
}

static inline std::uint16_t f32_to_f16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: add a magic number so the FPU rounds to nearest even.
    const float magic = std::bit_cast<float>(std::uint32_t(0x3f000000u));  // 0.5: aligns ulp 2^-24
    const float r = std::bit_cast<float>(abs) + magic;
    return std::uint16_t(sign | (std::bit_cast<std::uint32_t>(r) - 0x3f000000u));
  }
  std::uint32_t m = abs + 0xc8000fffu + ((abs >> 13) & 1u);  // rebias exponent (-112 << 23) and round
  return std::uint16_t(sign | (m >> 13));
}

}  // namespace kvlm

namespace kvlm {

// Distinct element types for 16-bit storage so overloads cannot mix them up.
struct f16_t {
  std::uint16_t bits;
};
struct bf16_t {
  std::uint16_t bits;
};

static inline float to_f32(float v) { return v; }
static inline float to_f32(f16_t v) { return f16_to_f32(v.bits); }
static inline float to_f32(bf16_t v) { return bf16_to_f32(v.bits); }

}  // namespace kvlm
