// AVX-512 VNNI quantized matmuls. vpdpbusd multiplies unsigned by signed
// bytes, so q8 feeds the activations as unsigned (xq + 128, a sign-bit flip)
// and subtracts 128 * row_sum; q4 feeds the stored nibbles (value + 8) as
// unsigned and starts each chunk's accumulator at the activations' group
// correction (-8 * group sum).
#include <immintrin.h>

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

template <int R, int C>
void q4_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
             std::size_t corr_stride, const std::uint8_t* w, std::size_t in, const std::uint16_t* w_scale, float* y,
             std::size_t y_stride) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  const std::size_t row_bytes = in / 2, groups = in / quant::kQ4Group;
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  // Lanes 0-7 hold group 2k's partial sums, lanes 8-15 group 2k+1's.
  const __m512i half_index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  for (std::size_t chunk = 0; chunk < in / 64; ++chunk) {
    __m512i xv[C], corr[C];
    for (int c = 0; c < C; ++c) {
      xv[c] = _mm512_loadu_si512(xq + std::size_t(c) * x_stride + chunk * 64);
      const __m128i pair = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x_corr + std::size_t(c) * corr_stride + chunk * 2));
      corr[c] = _mm512_maskz_expand_epi32(0x0101, _mm512_castsi128_si512(pair));
    }
    for (int r = 0; r < R; ++r) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + std::size_t(r) * row_bytes + chunk * 32));
      const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(packed, low4)),
                                           _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4), 1);
      std::uint32_t scale_bits;
      __builtin_memcpy(&scale_bits, w_scale + std::size_t(r) * groups + chunk * 2, 4);
      const __m128 two = _mm_cvtph_ps(_mm_cvtsi32_si128(int(scale_bits)));
      const __m512 sv = _mm512_permutexvar_ps(half_index, _mm512_castps128_ps512(two));
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr[c], u, xv[c])), sv, acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      y[std::size_t(c) * y_stride + std::size_t(r)] = _mm512_reduce_add_ps(acc[r][c]) * x_scale[c];
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
  auto tile = [&]<int R, int C>(std::size_t r, std::size_t t) {
    q4_tile<R, C>(xq + t * x_stride, x_stride, x_scale + t, x_corr + t * corr_stride, corr_stride,
                  packed + r * w.cols / 2, w.cols, w.group_scale + r * groups, y + t * y_stride + r, y_stride);
  };
  if (tokens == 1)  // as in matmul_q8: more rows in flight for the decode stream
    for_each_tile<8, 1>(tokens, row_begin, row_end, tile);
  else
    for_each_tile<4, 4>(tokens, row_begin, row_end, tile);
}

}  // namespace kvlm::avx512_isa
