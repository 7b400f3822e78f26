// Dequantization of ggml's block formats to f32, bit-exactly as the gguf
// Python package (0.19.0, gguf/quants.py) computes it with numpy float32
// arithmetic: f16 scales widened to f32 exactly, each product and sum rounded
// on its own (never fused), in the same order as the numpy expressions.
// Plain scalar code: it runs once, at load.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/half.h"
#include "io/ggml_types.h"
#include "kvlm/error.h"

// numpy rounds `d * q` before adding or subtracting the offset. In these
// formats that product is always exact in f32 (an f16 scale has 11
// significant bits, a sub-scale at most 7 and a quant at most 6), so an FMA
// would give the same bits; still, keep the compiler from contracting
// a * b + c (GCC does so across statements in C++ whenever FMA is enabled,
// e.g. with -march=native) so that the order matches numpy by construction.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace kvlm {
namespace {

constexpr std::size_t kQK = 32;    // elements per block of the _0 / _1 formats
constexpr std::size_t kQKK = 256;  // elements per super-block of the _K formats

std::uint8_t u8(const std::byte* p) { return std::uint8_t(*p); }
std::uint16_t le16(const std::byte* p) { return std::uint16_t(u8(p) | (u8(p + 1) << 8)); }
std::uint32_t le32(const std::byte* p) {
  return std::uint32_t(u8(p)) | std::uint32_t(u8(p + 1)) << 8 | std::uint32_t(u8(p + 2)) << 16 |
         std::uint32_t(u8(p + 3)) << 24;
}
float f16_at(const std::byte* p) { return f16_to_f32(le16(p)); }

// Low nibbles of qs[0..15] are elements 0..15, high nibbles elements 16..31.
std::uint8_t nibble32(const std::byte* qs, std::size_t j) {
  return j < kQK / 2 ? std::uint8_t(u8(qs + j) & 0x0F) : std::uint8_t(u8(qs + j - kQK / 2) >> 4);
}

// F32: 4 little-endian bytes per element.
void dequant_f32(const std::byte* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(le32(src + 4 * i));
}

// F16: 2 bytes per element.
void dequant_f16(const std::byte* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f16_at(src + 2 * i);
}

// BF16: 2 bytes per element, the top half of an f32.
void dequant_bf16(const std::byte* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(le16(src + 2 * i));
}

// Q8_0 (34 bytes): f16 d, int8 qs[32]; x = qs * d.
void dequant_q8_0(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 34, dst += kQK) {
    const float d = f16_at(src);
    for (std::size_t j = 0; j < kQK; ++j) dst[j] = float(std::int8_t(u8(src + 2 + j))) * d;
  }
}

// Q4_0 (18 bytes): f16 d, qs[16] nibbles; x = d * (q - 8).
void dequant_q4_0(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 18, dst += kQK) {
    const float d = f16_at(src);
    for (std::size_t j = 0; j < kQK; ++j) dst[j] = d * float(int(nibble32(src + 2, j)) - 8);
  }
}

// Q4_1 (20 bytes): f16 d, f16 m, qs[16] nibbles; x = d * q + m.
void dequant_q4_1(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 20, dst += kQK) {
    const float d = f16_at(src);
    const float m = f16_at(src + 2);
    for (std::size_t j = 0; j < kQK; ++j) {
      const float dq = d * float(nibble32(src + 4, j));
      dst[j] = dq + m;
    }
  }
}

// Q5_0 (22 bytes): f16 d, u32 qh (bit j = 5th bit of element j), qs[16]
// nibbles; x = d * (q - 16).
void dequant_q5_0(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 22, dst += kQK) {
    const float d = f16_at(src);
    const std::uint32_t qh = le32(src + 2);
    for (std::size_t j = 0; j < kQK; ++j) {
      const int q = int(nibble32(src + 6, j) | ((qh >> j) & 1u) << 4);
      dst[j] = d * float(q - 16);
    }
  }
}

// Q5_1 (24 bytes): f16 d, f16 m, u32 qh, qs[16] nibbles; x = d * q + m.
void dequant_q5_1(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 24, dst += kQK) {
    const float d = f16_at(src);
    const float m = f16_at(src + 2);
    const std::uint32_t qh = le32(src + 4);
    for (std::size_t j = 0; j < kQK; ++j) {
      const unsigned q = nibble32(src + 8, j) | ((qh >> j) & 1u) << 4;
      const float dq = d * float(q);
      dst[j] = dq + m;
    }
  }
}

// The eight 6-bit (scale, min) pairs of a Q4_K / Q5_K super-block, packed in
// 12 bytes: bytes 0-3 hold scales 0-3 (low 6 bits) and the top 2 bits of
// scales 4-7, bytes 4-7 the same for the mins, bytes 8-11 the low 4 bits of
// scales 4-7 (low nibble) and mins 4-7 (high nibble).
void k_scale_min(const std::byte* s, std::size_t j, unsigned& sc, unsigned& mn) {
  if (j < 4) {
    sc = u8(s + j) & 0x3Fu;
    mn = u8(s + 4 + j) & 0x3Fu;
  } else {
    sc = (u8(s + 8 + j - 4) & 0x0Fu) | ((u8(s + j - 4) >> 2) & 0x30u);
    mn = (u8(s + 8 + j - 4) >> 4) | ((u8(s + 4 + j - 4) >> 2) & 0x30u);
  }
}

// One Q4_K or Q5_K block's 8 sub-blocks of 32: f16 d, f16 dmin, scales[12]
// at src; sub-block 2i is the low nibbles of qs[32i..32i+31], 2i+1 the high
// ones; with qh (Q5_K), bit j of qh[l] is the 5th bit of element l of
// sub-block j. x = (d * sc) * q - (dmin * m).
void dequant_k_block(const std::byte* src, const std::byte* qh, const std::byte* qs, float* dst) {
  const float d = f16_at(src);
  const float dmin = f16_at(src + 2);
  const std::byte* scales = src + 4;
  for (std::size_t j = 0; j < 8; ++j) {
    unsigned sc = 0, mn = 0;
    k_scale_min(scales, j, sc, mn);
    const float dl = d * float(sc);
    const float ml = dmin * float(mn);
    const unsigned shift = (j % 2) * 4;
    for (std::size_t l = 0; l < 32; ++l) {
      unsigned q = (u8(qs + (j / 2) * 32 + l) >> shift) & 0x0Fu;
      if (qh) q |= ((u8(qh + l) >> j) & 1u) << 4;
      const float dq = dl * float(q);
      dst[j * 32 + l] = dq - ml;
    }
  }
}

// Q4_K (144 bytes): d, dmin, scales[12], qs[128].
void dequant_q4_k(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 144, dst += kQKK) dequant_k_block(src, nullptr, src + 16, dst);
}

// Q5_K (176 bytes): d, dmin, scales[12], qh[32], qs[128].
void dequant_q5_k(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 176, dst += kQKK) dequant_k_block(src, src + 16, src + 48, dst);
}

// Q6_K (210 bytes): ql[128], qh[64], int8 scales[16], f16 d. In each half h
// (128 elements) element r takes its low 4 bits from ql[64h + r % 64]
// (shifted by 4 when r >= 64) and its top 2 bits from qh[32h + r % 32]
// (shifted by 2 * (r / 32)); x = (d * scales[e / 16]) * (q - 32).
void dequant_q6_k(const std::byte* src, float* dst, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b, src += 210, dst += kQKK) {
    const std::byte* ql = src;
    const std::byte* qh = src + 128;
    const std::byte* scales = src + 192;
    const float d = f16_at(src + 208);
    for (std::size_t g = 0; g < 16; ++g) {
      const float dl = d * float(std::int8_t(u8(scales + g)));
      for (std::size_t i = 0; i < 16; ++i) {
        const std::size_t e = g * 16 + i;
        const std::size_t h = e / 128, r = e % 128;
        const unsigned lo = (u8(ql + 64 * h + r % 64) >> ((r / 64) * 4)) & 0x0Fu;
        const unsigned hi = (u8(qh + 32 * h + r % 32) >> ((r / 32) * 2)) & 0x03u;
        dst[e] = dl * float(int(lo | hi << 4) - 32);
      }
    }
  }
}

}  // namespace

void ggml_dequantize(GgmlType type, const std::byte* src, float* dst, std::size_t n) {
  const GgmlTypeInfo info = ggml_type_info(type);
  if (n % info.block_elems != 0)
    throw Error(std::string("ggml_dequantize: ") + std::to_string(n) + " elements is not a whole number of " +
                info.name + " blocks of " + std::to_string(info.block_elems));
  const std::size_t blocks = n / info.block_elems;
  switch (type) {
    case GgmlType::f32: return dequant_f32(src, dst, n);
    case GgmlType::f16: return dequant_f16(src, dst, n);
    case GgmlType::bf16: return dequant_bf16(src, dst, n);
    case GgmlType::q8_0: return dequant_q8_0(src, dst, blocks);
    case GgmlType::q4_0: return dequant_q4_0(src, dst, blocks);
    case GgmlType::q4_1: return dequant_q4_1(src, dst, blocks);
    case GgmlType::q5_0: return dequant_q5_0(src, dst, blocks);
    case GgmlType::q5_1: return dequant_q5_1(src, dst, blocks);
    case GgmlType::q4_k: return dequant_q4_k(src, dst, blocks);
    case GgmlType::q5_k: return dequant_q5_k(src, dst, blocks);
    case GgmlType::q6_k: return dequant_q6_k(src, dst, blocks);
  }
  throw Error("ggml_dequantize: no dequantizer for ggml type id " + std::to_string(std::uint32_t(type)));
}

}  // namespace kvlm
