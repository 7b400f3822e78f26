// AVX-512 VNNI quantized matmuls. vpdpbusd multiplies unsigned by signed
// bytes, so q8 feeds the activations as unsigned (xq + 128, a sign-bit flip)
// and subtracts 128 * row_sum; q4 feeds the stored nibbles (value + 8) as
// unsigned and starts each chunk's accumulator at the activations' group
// correction (-8 * group sum).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#define KVLM_ISA_NAMESPACE avx512_isa
#include "kernels/kernels_impl.h"
#include "quant/quant_formats.h"

namespace kvlm::avx512_isa {

namespace {

template <int R, int C>
void q8_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int8_t* w, std::size_t in,
             const float* w_scale, const std::int32_t* w_sum, float* y, std::size_t y_stride) {
  __m512i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_si512();
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  std::size_t i = 0;
  for (; i + 64 <= in; i += 64) {
    __m512i xv[C];
    for (int c = 0; c < C; ++c) xv[c] = _mm512_xor_si512(_mm512_loadu_si512(xq + std::size_t(c) * x_stride + i), flip);
    for (int r = 0; r < R; ++r) {
      const __m512i wv = _mm512_loadu_si512(w + std::size_t(r) * in + i);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], xv[c], wv);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      std::int32_t s = _mm512_reduce_add_epi32(acc[r][c]);
      for (std::size_t k = i; k < in; ++k)
        s += (std::int32_t(xq[std::size_t(c) * x_stride + k]) + 128) * w[std::size_t(r) * in + k];
      s -= 128 * w_sum[r];
      y[std::size_t(c) * y_stride + std::size_t(r)] = float(s) * w_scale[r] * x_scale[c];
    }
}

constexpr std::size_t kQ4PrefetchBytes = 2048;

inline __m512i broadcast4(const std::int8_t* p) {
  std::int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// B q4 row blocks (16 rows each, one zmm lane per row) x C tokens. Per group
// the 32-column integer dot (exact in any order) starts at the activations'
// correction and is scaled by the 16 rows' scales in one fma; groups are
// added in order, so every tile shape gives the same bits.
template <int B, int C>
void q4_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
             std::size_t corr_stride, const std::uint8_t* w, const std::uint16_t* w_scale, std::size_t groups, float* y,
             std::size_t y_stride) {
  __m512 acc[B][C];
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) acc[b][c] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (std::size_t g = 0; g < groups; ++g) {
    for (int b = 0; b < B; ++b) {
      const std::size_t block = std::size_t(b) * groups + g;
      const std::uint8_t* wg = w + block * quant::kQ4BlockBytes;
      __m512i lo[4], hi[4];  // step s: columns 8s..8s+3 (low nibbles) and 8s+4..8s+7 (high) of 16 rows
      for (int s = 0; s < 4; ++s) {
        const __m512i v = _mm512_loadu_si512(wg + s * 64);
        lo[s] = _mm512_and_si512(v, low4);
        hi[s] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
      const __m512 scale = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_scale + block * quant::kQ4BlockRows)));
      for (int c = 0; c < C; ++c) {
        const std::int8_t* xg = xq + std::size_t(c) * x_stride + g * quant::kQ4Group;
        __m512i low_sum = _mm512_set1_epi32(x_corr[std::size_t(c) * corr_stride + g]);
        __m512i high_sum = _mm512_setzero_si512();
        for (int s = 0; s < 4; ++s) {
          low_sum = _mm512_dpbusd_epi32(low_sum, lo[s], broadcast4(xg + s * 8));
          high_sum = _mm512_dpbusd_epi32(high_sum, hi[s], broadcast4(xg + s * 8 + 4));
        }
        acc[b][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(low_sum, high_sum)), scale, acc[b][c]);
      }
    }
  }
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      _mm512_storeu_ps(y + std::size_t(c) * y_stride + std::size_t(b) * quant::kQ4BlockRows,
                       _mm512_mul_ps(acc[b][c], _mm512_set1_ps(x_scale[c])));
}

// Decode: one token, B row blocks. The same operations per (block, group) as
// q4_tile<B, 1> (so the same bits), with the token's 8 activation broadcasts
// made once per group for all blocks, and the weights asked for 8 groups
// ahead so the unpacking overlaps the memory latency (measured 23 -> 20
// ms/token on the 1B shape; the hardware prefetcher alone leaves it waiting).
template <int B>
void q4_decode_tile(const std::int8_t* xq, const float* x_scale, const std::int32_t* x_corr, const std::uint8_t* w,
                    const std::uint16_t* w_scale, std::size_t groups, float* y) {
  __m512 acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::int8_t* xg = xq + g * quant::kQ4Group;
    __m512i x_low[4], x_high[4];
    for (int s = 0; s < 4; ++s) {
      x_low[s] = broadcast4(xg + s * 8);
      x_high[s] = broadcast4(xg + s * 8 + 4);
    }
    const __m512i corr = _mm512_set1_epi32(x_corr[g]);
#pragma GCC unroll 4
    for (int b = 0; b < B; ++b) {
      const std::size_t block = std::size_t(b) * groups + g;
      const std::uint8_t* wg = w + block * quant::kQ4BlockBytes;
      for (std::size_t line = 0; line < quant::kQ4BlockBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(wg) + kQ4PrefetchBytes + line, _MM_HINT_T0);
      __m512i low_sum = corr, high_sum = _mm512_setzero_si512();
      for (int s = 0; s < 4; ++s) {
        const __m512i v = _mm512_loadu_si512(wg + s * 64);
        low_sum = _mm512_dpbusd_epi32(low_sum, _mm512_and_si512(v, low4), x_low[s]);
        high_sum = _mm512_dpbusd_epi32(high_sum, _mm512_and_si512(_mm512_srli_epi16(v, 4), low4), x_high[s]);
      }
      const __m512 scale = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_scale + block * quant::kQ4BlockRows)));
      acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(low_sum, high_sum)), scale, acc[b]);
    }
  }
  for (int b = 0; b < B; ++b)
    _mm512_storeu_ps(y + std::size_t(b) * quant::kQ4BlockRows, _mm512_mul_ps(acc[b], _mm512_set1_ps(x_scale[0])));
}

}  // namespace

void matmul_q8(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t*,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* wq = static_cast<const std::int8_t*>(w.data);
  auto tile = [&]<int R, int C>(std::size_t r, std::size_t t) {
    q8_tile<R, C>(xq + t * x_stride, x_stride, x_scale + t, wq + r * w.cols, w.cols, w.row_scale + r, w.row_sum + r,
                  y + t * y_stride + r, y_stride);
  };
  // Decode (one token) is a pure weight stream: 16 rows in flight keep more
  // memory requests outstanding; prefill reuses each weight over 4 tokens.
  if (tokens == 1)
    for_each_tile<16, 1>(tokens, row_begin, row_end, tile);
  else
    for_each_tile<4, 4>(tokens, row_begin, row_end, tile);
}

void matmul_q4(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* packed = static_cast<const std::uint8_t*>(w.data);
  const std::size_t corr_stride = x_stride / quant::kQ4Group, groups = w.cols / quant::kQ4Group;
  constexpr std::size_t rows = quant::kQ4BlockRows;
  for_each_q4_tile<8>(tokens, row_begin / rows, row_end / rows, [&]<int B, int C>(std::size_t b, std::size_t t) {
    if constexpr (C == 1)
      q4_decode_tile<B>(xq + t * x_stride, x_scale + t, x_corr + t * corr_stride,
                        packed + b * groups * quant::kQ4BlockBytes, w.group_scale + b * groups * rows, groups,
                        y + t * y_stride + b * rows);
    else
      q4_tile<B, C>(xq + t * x_stride, x_stride, x_scale + t, x_corr + t * corr_stride, corr_stride,
                    packed + b * groups * quant::kQ4BlockBytes, w.group_scale + b * groups * rows, groups,
                    y + t * y_stride + b * rows, y_stride);
  });
}

// Bit-exact with quant::quantize_activations: max is exact in any order,
// x * inv is the same float product, and vcvtps2dq rounds to nearest even
// as lrint does in the default rounding mode.
void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr) {
  __m512 max_abs = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) max_abs = _mm512_max_ps(max_abs, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  float m = _mm512_reduce_max_ps(max_abs);
  for (; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  *scale = m / 127.0f;
  const float inv = m > 0.0f ? 127.0f / m : 0.0f;
  const __m512 inv_v = _mm512_set1_ps(inv);
  i = 0;
  for (; i + quant::kQ4Group <= n; i += quant::kQ4Group) {  // one q4 group: two vectors
    const __m512i a = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv_v));
    const __m512i b = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i + 16), inv_v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtsepi32_epi8(a));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i + 16), _mm512_cvtsepi32_epi8(b));
    if (group_corr) group_corr[i / quant::kQ4Group] = -8 * _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
  }
  for (; i < n; ++i) q[i] = std::int8_t(std::lrint(x[i] * inv));
}

}  // namespace kvlm::avx512_isa
