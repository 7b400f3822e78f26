// AVX-512 VNNI quantized matmuls over 16-row blocks: one zmm lane per row,
// 4 activation bytes broadcast to every lane. vpdpbusd multiplies unsigned by
// signed bytes, so both formats feed their stored, biased weights (q8:
// value + 128; q4: nibble value + 8) as the unsigned operand and start each
// activation group of 32 from its correction (q8: -128 x group sum, 16 x
// x_corr; q4: -8 x group sum, x_corr).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#define KVLM_ISA_NAMESPACE avx512_isa
#include "kernels/kernels_impl.h"
#include "quant/quant_formats.h"

namespace kvlm::avx512_isa {

namespace {

// q8 decode streams 4 blocks at once: asking for them 2 KiB ahead lets the
// arithmetic overlap the memory latency (the hardware prefetcher alone
// leaves decode time at compute + memory; 1.31x slower on the 1B shape).
constexpr std::size_t kPrefetchBytes = 2048;

inline __m512i broadcast4(const std::int8_t* p) {
  std::int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Prefill: one q4 row block (16 rows, one zmm lane per row) x C tokens. Per
// group the 32-column integer dot (exact in any order) starts at the
// activations' correction and is scaled by the 16 rows' scales times the
// group's activation scale in one fma;
// groups are added in order, so every tile shape gives the same bits.
// w and w_scale point at the block's group 0 (quant::q4_block_place); each
// next group is `stride` bytes on.
template <int C>
void q4_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
             std::size_t corr_stride, const std::uint8_t* w, const std::uint8_t* w_scale, std::size_t stride,
             std::size_t groups, float* y, std::size_t y_stride) {
  __m512 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint8_t* wg = w + g * stride;
    __m512i lo[4], hi[4];  // step s: columns 8s..8s+3 (low nibbles) and 8s+4..8s+7 (high) of 16 rows
    for (int s = 0; s < 4; ++s) {
      const __m512i v = _mm512_loadu_si512(wg + s * 64);
      lo[s] = _mm512_and_si512(v, low4);
      hi[s] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
    }
    const __m512 scale = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_scale + g * stride)));
    for (int c = 0; c < C; ++c) {
      const std::int8_t* xg = xq + std::size_t(c) * x_stride + g * quant::kQ4Group;
      __m512i low_sum = _mm512_set1_epi32(x_corr[std::size_t(c) * corr_stride + g]);
      __m512i high_sum = _mm512_setzero_si512();
      for (int s = 0; s < 4; ++s) {
        low_sum = _mm512_dpbusd_epi32(low_sum, lo[s], broadcast4(xg + s * 8));
        high_sum = _mm512_dpbusd_epi32(high_sum, hi[s], broadcast4(xg + s * 8 + 4));
      }
      const __m512 group_scale = _mm512_mul_ps(scale, _mm512_set1_ps(x_scale[std::size_t(c) * corr_stride + g]));
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(low_sum, high_sum)), group_scale, acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) _mm512_storeu_ps(y + std::size_t(c) * y_stride, acc[c]);
}

// Decode: one token, B row blocks, the same bits as q4_tile. Cheaper per
// weight byte, because decode time on two cores is close to compute time
// plus memory time (measured on the 1B shape):
// - the token's 8 activation broadcasts are made once per group for all
//   B = 4 blocks;
// - high nibbles are multiplied in place (byte & 0xf0 = 16 x nibble), and the
//   low sum is shifted left by 4 to match. The group's integer is then
//   16 x q4_tile's, and so is every partial sum: scaling by a power of two is
//   exact in float, and the final product is divided by 16 again.
// - no software prefetch: a 4-block tile's groups are one sequential
//   stream, weights and scales, which the hardware prefetcher follows on its
//   own. Asking for each line 2 KiB ahead as well made decode 7-14% slower
//   on the 1B shape at 54-69 GB/s (the prefetches take load slots and miss
//   buffers the stream then waits for); 1, 3 and 4 KiB were no better, and
//   a farther L2 hint was worse still. (q8's 4 block streams, bf16 / f16's 8
//   row streams and the AVX2 q4 tile, whose unpacking is slower, still gain
//   from their prefetches: 1.1-1.5x.)
// w, w_scale and stride as in q4_tile, for the first of the B blocks (the
// others follow it within each group).
template <int B>
void q4_decode_tile(const std::int8_t* xq, const float* x_scale, const std::int32_t* x_corr, const std::uint8_t* w,
                    const std::uint8_t* w_scale, std::size_t stride, std::size_t groups, float* y) {
  __m512 acc[B];  // 16 x the sums of q4_tile
  for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0f), high4 = _mm512_set1_epi8(std::int8_t(0xf0));
  for (std::size_t g = 0; g < groups; ++g) {
    const std::int8_t* xg = xq + g * quant::kQ4Group;
    __m512i x_low[4], x_high[4];
    for (int s = 0; s < 4; ++s) {
      x_low[s] = broadcast4(xg + s * 8);
      x_high[s] = broadcast4(xg + s * 8 + 4);
    }
    const __m512i corr = _mm512_set1_epi32(x_corr[g]);
    const __m512 x_group_scale = _mm512_set1_ps(x_scale[g]);
#pragma GCC unroll 4
    for (int b = 0; b < B; ++b) {
      const std::uint8_t* wg = w + g * stride + std::size_t(b) * quant::kQ4BlockBytes;
      __m512i low_sum = corr, high_sum16 = _mm512_setzero_si512();
      for (int s = 0; s < 4; ++s) {
        const __m512i v = _mm512_loadu_si512(wg + s * 64);
        low_sum = _mm512_dpbusd_epi32(low_sum, _mm512_and_si512(v, low4), x_low[s]);
        high_sum16 = _mm512_dpbusd_epi32(high_sum16, _mm512_and_si512(v, high4), x_high[s]);
      }
      const __m512 scale = _mm512_cvtph_ps(_mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(w_scale + g * stride + std::size_t(b) * quant::kQ4ScaleBytes)));
      const __m512i sum16 = _mm512_add_epi32(_mm512_slli_epi32(low_sum, 4), high_sum16);
      acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum16), _mm512_mul_ps(scale, x_group_scale), acc[b]);
    }
  }
  // acc / 16 is exact (scaling by a power of two), so it equals q4_tile's sum.
  const __m512 sixteenth = _mm512_set1_ps(0.0625f);
  for (int b = 0; b < B; ++b) _mm512_storeu_ps(y + std::size_t(b) * quant::kQ4BlockRows, _mm512_mul_ps(acc[b], sixteenth));
}

// Stores 16 row lanes of token results, only the first `valid` (the last
// block of a matrix whose row count is not a multiple of 16).
inline void store_rows(float* y, __m512 v, std::size_t valid) {
  if (valid >= 16)
    _mm512_storeu_ps(y, v);
  else
    _mm512_mask_storeu_ps(y, __mmask16((1u << valid) - 1), v);
}

// B q8 row blocks x C tokens (C > 1); w: the first block (core/matrix_view.h),
// each block_bytes long. Lane l of a block's sums is row l. Each group's sum
// starts at its correction for the + 128 weight bias (16 x x_corr) and is
// exact; it is scaled by the 16 rows' scales times the group's activation
// scale in one fma, and groups are added in order, so every tile shape gives
// the same bits.
template <int B, int C>
void q8_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
             std::size_t scale_stride, const std::uint8_t* w, std::size_t block_bytes, std::size_t quads,
             std::size_t rows_left, float* y, std::size_t y_stride) {
  __m512 acc[B][C];
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) acc[b][c] = _mm512_setzero_ps();
  for (std::size_t g = 0, k0 = 0; k0 < quads; ++g, k0 += quant::kQ8GroupQuads) {
    const std::uint8_t* wg = w + g * quant::kQ8GroupBytes;
    const std::size_t n = quant::q8_group_quads(quads, g);
    __m512i sum[B][C];
    for (int c = 0; c < C; ++c) {
      const __m512i corr = _mm512_set1_epi32(16 * x_corr[std::size_t(c) * scale_stride + g]);
      for (int b = 0; b < B; ++b) sum[b][c] = corr;
    }
    for (std::size_t k = 0; k < n; ++k) {
      __m512i wv[B];
      for (int b = 0; b < B; ++b)
        wv[b] = _mm512_loadu_si512(wg + std::size_t(b) * block_bytes + k * quant::kQ8BlockBytes);
      for (int c = 0; c < C; ++c) {
        const __m512i xv = broadcast4(xq + std::size_t(c) * x_stride + (k0 + k) * 4);
        for (int b = 0; b < B; ++b) sum[b][c] = _mm512_dpbusd_epi32(sum[b][c], wv[b], xv);
      }
    }
    for (int b = 0; b < B; ++b) {
      const __m512 scale = _mm512_cvtph_ps(_mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(wg + std::size_t(b) * block_bytes + n * quant::kQ8BlockBytes)));
      for (int c = 0; c < C; ++c) {
        const __m512 group_scale = _mm512_mul_ps(scale, _mm512_set1_ps(x_scale[std::size_t(c) * scale_stride + g]));
        acc[b][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[b][c]), group_scale, acc[b][c]);
      }
    }
  }
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      store_rows(y + std::size_t(c) * y_stride + std::size_t(b) * quant::kBlockRows, acc[b][c],
                 rows_left - std::size_t(b) * quant::kBlockRows);
}

// Decode: one token, B blocks; the same exact integer group sums as q8_tile,
// split over two accumulators per block (even and odd column quads) so
// consecutive vpdpbusd do not wait on each other, with the weights asked for
// ahead, and the same float steps.
template <int B>
void q8_decode_tile(const std::int8_t* xq, const float* x_scale, const std::int32_t* x_corr, const std::uint8_t* w,
                    std::size_t block_bytes, std::size_t quads, std::size_t rows_left, float* y) {
  __m512 acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
  for (std::size_t g = 0, k0 = 0; k0 < quads; ++g, k0 += quant::kQ8GroupQuads) {
    const std::uint8_t* wg = w + g * quant::kQ8GroupBytes;
    const std::size_t n = quant::q8_group_quads(quads, g);
    __m512i even[B], odd[B];
    for (int b = 0; b < B; ++b) {
      even[b] = _mm512_set1_epi32(16 * x_corr[g]);
      odd[b] = _mm512_setzero_si512();
    }
    std::size_t k = 0;
    for (; k + 2 <= n; k += 2) {
      const __m512i x0 = broadcast4(xq + (k0 + k) * 4), x1 = broadcast4(xq + (k0 + k) * 4 + 4);
#pragma GCC unroll 4
      for (int b = 0; b < B; ++b) {
        const std::uint8_t* wk = wg + std::size_t(b) * block_bytes + k * quant::kQ8BlockBytes;
        prefetch_at(wk, kPrefetchBytes);
        prefetch_at(wk, kPrefetchBytes + 64);
        even[b] = _mm512_dpbusd_epi32(even[b], _mm512_loadu_si512(wk), x0);
        odd[b] = _mm512_dpbusd_epi32(odd[b], _mm512_loadu_si512(wk + quant::kQ8BlockBytes), x1);
      }
    }
    if (k < n) {
      const __m512i x0 = broadcast4(xq + (k0 + k) * 4);
      for (int b = 0; b < B; ++b)
        even[b] = _mm512_dpbusd_epi32(
            even[b], _mm512_loadu_si512(wg + std::size_t(b) * block_bytes + k * quant::kQ8BlockBytes), x0);
    }
    const __m512 x_group_scale = _mm512_set1_ps(x_scale[g]);
    for (int b = 0; b < B; ++b) {
      const std::uint8_t* scales = wg + std::size_t(b) * block_bytes + n * quant::kQ8BlockBytes;
      prefetch_at(scales, kPrefetchBytes);  // the stream's one line per group that no quad pair asked for
      const __m512 scale = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
      acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(even[b], odd[b])),
                               _mm512_mul_ps(scale, x_group_scale), acc[b]);
    }
  }
  for (int b = 0; b < B; ++b)
    store_rows(y + std::size_t(b) * quant::kBlockRows, acc[b], rows_left - std::size_t(b) * quant::kBlockRows);
}

}  // namespace

void matmul_q8(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* data = static_cast<const std::uint8_t*>(w.data);
  const std::size_t quads = w.cols / 4, scale_stride = quant::activation_groups(x_stride);
  const std::size_t block_bytes = quant::q8_block_bytes(w.cols);
  constexpr std::size_t rows = quant::kBlockRows;
  const std::size_t block_end = (row_end + rows - 1) / rows;
  // Decode takes 4 blocks (2 were measured 0.75 -> 0.93 of the bandwidth
  // floor on the 1B shape: fewer broadcasts per weight byte). Prefill tiles
  // are one block by up to 8 tokens: their integer group sums and float
  // totals take 16 registers.
  for_each_block_tile<1, 8, 4>(tokens, row_begin / rows, block_end, [&]<int B, int C>(std::size_t b, std::size_t t) {
    const std::size_t rows_left = row_end - b * rows;
    if constexpr (C == 1)
      q8_decode_tile<B>(xq + t * x_stride, x_scale + t * scale_stride, x_corr + t * scale_stride,
                        data + b * block_bytes, block_bytes, quads, rows_left, y + t * y_stride + b * rows);
    else
      q8_tile<B, C>(xq + t * x_stride, x_stride, x_scale + t * scale_stride, x_corr + t * scale_stride, scale_stride,
                    data + b * block_bytes, block_bytes, quads, rows_left, y + t * y_stride + b * rows, y_stride);
  });
}

void matmul_q4(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* packed = static_cast<const std::uint8_t*>(w.data);
  const std::size_t corr_stride = x_stride / quant::kQ4Group, groups = w.cols / quant::kQ4Group;
  constexpr std::size_t rows = quant::kQ4BlockRows;
  // Prefill tiles are one block by up to 8 tokens; decode takes 4 blocks.
  const std::size_t block_begin = row_begin / rows, block_end = row_end / rows, blocks = w.rows / rows;
  for_each_block_tile<1, 8, 4>(tokens, block_begin, block_end, [&]<int B, int C>(std::size_t b, std::size_t t) {
    const quant::Q4BlockPlace at = quant::q4_block_place(blocks, groups, b);
    if constexpr (C == 1) {
      q4_decode_tile<B>(xq + t * x_stride, x_scale + t * corr_stride, x_corr + t * corr_stride, packed + at.data,
                        packed + at.scales, at.group_stride, groups, y + t * y_stride + b * rows);
    } else {
      static_assert(B == 1);
      q4_tile<C>(xq + t * x_stride, x_stride, x_scale + t * corr_stride, x_corr + t * corr_stride, corr_stride, packed + at.data,
                 packed + at.scales, at.group_stride, groups, y + t * y_stride + b * rows, y_stride);
    }
  });
}

// Bit-exact with quant::quantize_activations: max is exact in any order,
// x * inv is the same float product, and vcvtps2dq rounds to nearest even
// as lrint does in the default rounding mode. A token with a NaN or an
// infinity (already a broken forward pass) takes the scalar path, whose
// NaN handling the vector instructions do not reproduce.
void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr) {
  __m512 max_abs = _mm512_setzero_ps();
  __mmask16 non_finite = 0;  // x - x is 0 for finite x, NaN for NaN and +-inf
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    max_abs = _mm512_max_ps(max_abs, _mm512_abs_ps(v));
    non_finite |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_NEQ_UQ);
  }
  float m = _mm512_reduce_max_ps(max_abs);
  for (; i < n; ++i) {
    if (!std::isfinite(x[i])) non_finite = 1;
    m = std::max(m, std::fabs(x[i]));
  }
  if (non_finite) {
    quant::quantize_activations(x, n, q, scale, group_corr);
    return;
  }
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
