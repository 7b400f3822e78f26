// AVX2 quantized matmuls with vpmaddubsw (unsigned x signed bytes -> int16
// pairs). q8 uses the sign trick (|w| times x * sign(w)) so a pair sum stays
// within int16 (2 * 127 * 127); q4 nibbles are at most 15, so unsigned nibble
// times signed activation is safe as is.
#include <immintrin.h>

#include <cstdint>

#define KVLM_ISA_NAMESPACE avx2_isa
#include "kernels/kernels_impl.h"
#include "quant/quant_formats.h"

namespace kvlm::avx2_isa {

namespace {

inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

inline std::int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <int R, int C>
void q8_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int8_t* w, std::size_t in,
             const float* w_scale, float* y, std::size_t y_stride) {
  __m256i acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 32 <= in; i += 32) {
    __m256i xv[C];
    for (int c = 0; c < C; ++c)
      xv[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + std::size_t(c) * x_stride + i));
    for (int r = 0; r < R; ++r) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + std::size_t(r) * in + i));
      const __m256i abs_w = _mm256_sign_epi8(wv, wv);
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm256_add_epi32(acc[r][c], dot_u8s8(abs_w, _mm256_sign_epi8(xv[c], wv)));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      std::int32_t s = hsum(acc[r][c]);
      for (std::size_t k = i; k < in; ++k) s += std::int32_t(xq[std::size_t(c) * x_stride + k]) * w[std::size_t(r) * in + k];
      y[std::size_t(c) * y_stride + std::size_t(r)] = float(s) * w_scale[r] * x_scale[c];
    }
}

// One half of a q4 row block (8 rows, one ymm lane per row) x C tokens: w and
// w_scale point at the block's first group, already offset to the half.
// Same order of float operations as the AVX-512 tile.
template <int C>
void q4_half_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
                  std::size_t corr_stride, const std::uint8_t* w, const std::uint16_t* w_scale, std::size_t groups,
                  float* y, std::size_t y_stride) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint8_t* wg = w + g * quant::kQ4BlockBytes;
    __m256i lo[4], hi[4];
    for (int s = 0; s < 4; ++s) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + s * 64));
      lo[s] = _mm256_and_si256(v, low4);
      hi[s] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
    const __m256 scale =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w_scale + g * quant::kQ4BlockRows)));
    for (int c = 0; c < C; ++c) {
      const std::int8_t* xg = xq + std::size_t(c) * x_stride + g * quant::kQ4Group;
      __m256i sum = _mm256_set1_epi32(x_corr[std::size_t(c) * corr_stride + g]);
      for (int s = 0; s < 4; ++s) {
        std::int32_t low_x, high_x;
        __builtin_memcpy(&low_x, xg + s * 8, 4);
        __builtin_memcpy(&high_x, xg + s * 8 + 4, 4);
        sum = _mm256_add_epi32(sum, dot_u8s8(lo[s], _mm256_set1_epi32(low_x)));
        sum = _mm256_add_epi32(sum, dot_u8s8(hi[s], _mm256_set1_epi32(high_x)));
      }
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, acc[c]);
    }
  }
  for (int c = 0; c < C; ++c)
    _mm256_storeu_ps(y + std::size_t(c) * y_stride, _mm256_mul_ps(acc[c], _mm256_set1_ps(x_scale[c])));
}

}  // namespace

void matmul_q8(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t*,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* wq = static_cast<const std::int8_t*>(w.data);
  for_each_tile<2, 4>(tokens, row_begin, row_end, [&]<int R, int C>(std::size_t r, std::size_t t) {
    q8_tile<R, C>(xq + t * x_stride, x_stride, x_scale + t, wq + r * w.cols, w.cols, w.row_scale + r,
                  y + t * y_stride + r, y_stride);
  });
}

void matmul_q4(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* packed = static_cast<const std::uint8_t*>(w.data);
  const std::size_t corr_stride = x_stride / quant::kQ4Group, groups = w.cols / quant::kQ4Group;
  constexpr std::size_t rows = quant::kQ4BlockRows;
  for_each_q4_tile<4>(tokens, row_begin / rows, row_end / rows, [&]<int B, int C>(std::size_t b0, std::size_t t) {
    for (std::size_t b = b0; b < b0 + B; ++b)
      for (std::size_t half = 0; half < 2; ++half)  // rows 0-7 of the block, then 8-15
        q4_half_tile<C>(xq + t * x_stride, x_stride, x_scale + t, x_corr + t * corr_stride, corr_stride,
                        packed + b * groups * quant::kQ4BlockBytes + half * 32,
                        w.group_scale + b * groups * rows + half * 8, groups, y + t * y_stride + b * rows + half * 8,
                        y_stride);
  });
}

void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr) {
  quant::quantize_activations(x, n, q, scale, group_corr);  // the scalar specification
}

}  // namespace kvlm::avx2_isa
