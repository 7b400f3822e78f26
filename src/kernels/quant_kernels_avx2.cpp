// AVX2 quantized matmuls over 16-row blocks, as two halves of 8 rows (one ymm
// lane per row), with vpmaddubsw (unsigned x signed bytes -> int16 pairs).
// q8 turns its stored bytes back to signed values and uses the sign trick
// (|w| times x * sign(w)) so a pair sum stays within int16 (2 * 127 * 127)
// and needs no correction; q4 nibbles are at most 15, so unsigned nibble
// times signed activation is safe as is.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#define KVLM_ISA_NAMESPACE avx2_isa
#include "kernels/kernels_impl.h"
#include "quant/quant_formats.h"

namespace kvlm::avx2_isa {

namespace {

inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// 32 stored q8 bytes (value + 128) as signed values.
inline __m256i load_q8(const std::uint8_t* p) {
  return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), _mm256_set1_epi8(char(0x80)));
}

// Per 32-bit lane, the sum of 4 signed weight x signed activation products by
// the sign trick: |w| x (x * sign(w)).
inline __m256i dot_s8s8(__m256i w, __m256i x) { return dot_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)); }

// Stores the first `valid` of 8 row lanes.
inline void store_rows(float* y, __m256 v, std::size_t valid) {
  if (valid >= 8) {
    _mm256_storeu_ps(y, v);
    return;
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  for (std::size_t i = 0; i < valid; ++i) y[i] = lanes[i];
}

// One half of a q8 row block (8 rows, one ymm lane per row) x C tokens:
// block points at the block's first group (core/matrix_view.h). Per group
// the exact integer sum is scaled by the 8 rows' scales times the group's
// activation scale in one fma, groups added in order: the float steps of
// q4_half_tile.
template <int C>
void q8_half_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, std::size_t scale_stride,
                  const std::uint8_t* block, std::size_t half, std::size_t quads, std::size_t valid, float* y,
                  std::size_t y_stride) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (std::size_t g = 0, k0 = 0; k0 < quads; ++g, k0 += quant::kQ8GroupQuads) {
    const std::uint8_t* wg = block + g * quant::kQ8GroupBytes;
    const std::size_t n = quant::q8_group_quads(quads, g);
    __m256i sum[C];
    for (int c = 0; c < C; ++c) sum[c] = _mm256_setzero_si256();
    for (std::size_t k = 0; k < n; ++k) {
      const __m256i wv = load_q8(wg + k * quant::kQ8BlockBytes + half * 32);
      for (int c = 0; c < C; ++c) {
        std::int32_t x4;
        __builtin_memcpy(&x4, xq + std::size_t(c) * x_stride + (k0 + k) * 4, 4);
        sum[c] = _mm256_add_epi32(sum[c], dot_s8s8(wv, _mm256_set1_epi32(x4)));
      }
    }
    const __m256 scale = _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + n * quant::kQ8BlockBytes + half * 16)));
    for (int c = 0; c < C; ++c) {
      const __m256 group_scale = _mm256_mul_ps(scale, _mm256_set1_ps(x_scale[std::size_t(c) * scale_stride + g]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[c]), group_scale, acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) store_rows(y + std::size_t(c) * y_stride, acc[c], valid);
}

// One half of a q4 row block (8 rows, one ymm lane per row) x C tokens: w and
// w_scale point at the block's first group (quant::q4_block_place), already
// offset to the half; each next group is `stride` bytes on. Same order of
// float operations as the AVX-512 tile.
template <int C>
void q4_half_tile(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
                  std::size_t corr_stride, const std::uint8_t* w, const std::uint8_t* w_scale, std::size_t stride,
                  std::size_t groups, float* y, std::size_t y_stride) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint8_t* wg = w + g * stride;
    __m256i lo[4], hi[4];
    for (int s = 0; s < 4; ++s) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + s * 64));
      lo[s] = _mm256_and_si256(v, low4);
      hi[s] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
    const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w_scale + g * stride)));
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
      const __m256 group_scale = _mm256_mul_ps(scale, _mm256_set1_ps(x_scale[std::size_t(c) * corr_stride + g]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), group_scale, acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + std::size_t(c) * y_stride, acc[c]);
}

// Decode streams each weight once, so it reads both halves of a block from
// one 64-byte line per column quad / group, makes the token's activation
// broadcasts once for B = 4 blocks, and asks for the weights ahead: q8 2 KiB
// ahead in each block's stream; q4, whose 4-block tile is one stream and
// whose unpacking takes longer, 8 KiB ahead, its blocks read one after the
// other (2 KiB: 18.4 ms/token; 8 KiB: 17.3, level with q4's earlier layout
// of one stream per block, 17.2). Forced to AVX2 on this project's AVX-512
// machine (1B shape, 2 threads), the share of the bandwidth floor went from
// 0.56 to 0.76 (q4) and from 0.62 to 0.99 (q8) against the prefill tiles.
// The integer sums and the float steps are those of the half tiles, so the
// bits are the same.
constexpr std::size_t kPrefetchBytes = 2048;
constexpr std::size_t kQ4PrefetchBytes = 8192;

// w: the first of B q8 blocks, each block_bytes long.
template <int B>
void q8_decode_tile(const std::int8_t* xq, const float* x_scale, const std::uint8_t* w, std::size_t block_bytes,
                    std::size_t quads, std::size_t rows_left, float* y) {
  __m256 acc[B][2];
  for (int b = 0; b < B; ++b) acc[b][0] = acc[b][1] = _mm256_setzero_ps();
  for (std::size_t g = 0, k0 = 0; k0 < quads; ++g, k0 += quant::kQ8GroupQuads) {
    const std::size_t n = quant::q8_group_quads(quads, g);
    __m256i sum[B][2];
    for (int b = 0; b < B; ++b) sum[b][0] = sum[b][1] = _mm256_setzero_si256();
    for (std::size_t k = 0; k < n; ++k) {
      std::int32_t x4;
      __builtin_memcpy(&x4, xq + (k0 + k) * 4, 4);
      const __m256i xv = _mm256_set1_epi32(x4);
      for (int b = 0; b < B; ++b) {
        const std::uint8_t* wk = w + std::size_t(b) * block_bytes + g * quant::kQ8GroupBytes + k * quant::kQ8BlockBytes;
        prefetch_at(wk, kPrefetchBytes);
        for (int half = 0; half < 2; ++half)
          sum[b][half] = _mm256_add_epi32(sum[b][half], dot_s8s8(load_q8(wk + half * 32), xv));
      }
    }
    const __m256 x_group_scale = _mm256_set1_ps(x_scale[g]);
    for (int b = 0; b < B; ++b) {
      const std::uint8_t* scales = w + std::size_t(b) * block_bytes + g * quant::kQ8GroupBytes + n * quant::kQ8BlockBytes;
      prefetch_at(scales, kPrefetchBytes);  // the stream's one line per group that no quad asked for
      for (int half = 0; half < 2; ++half) {
        const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + half * 16)));
        acc[b][half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[b][half]), _mm256_mul_ps(scale, x_group_scale), acc[b][half]);
      }
    }
  }
  for (int b = 0; b < B; ++b)
    for (int half = 0; half < 2; ++half) {
      const std::size_t first = std::size_t(b) * quant::kBlockRows + std::size_t(half) * 8;
      if (first >= rows_left) break;
      store_rows(y + first, acc[b][half], rows_left - first);
    }
}

// w, w_scale and stride as in q4_half_tile (not offset to a half), for the
// first of the B blocks; the others follow it within each group.
template <int B>
void q4_decode_tile(const std::int8_t* xq, const float* x_scale, const std::int32_t* x_corr, const std::uint8_t* w,
                    const std::uint8_t* w_scale, std::size_t stride, std::size_t groups, float* y) {
  __m256 acc[B][2];
  for (int b = 0; b < B; ++b) acc[b][0] = acc[b][1] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::int8_t* xg = xq + g * quant::kQ4Group;
    // The tile's whole record of this group, stride bytes (a constant for a full tile).
    const std::size_t record = B == int(quant::kTileBlocks) ? B * quant::kQ4GroupBytes : stride;
    for (std::size_t at = 0; at < record; at += 64) prefetch_at(w + g * stride, kQ4PrefetchBytes + at);
    __m256i x_low[4], x_high[4];
    for (int s = 0; s < 4; ++s) {
      std::int32_t low_x, high_x;
      __builtin_memcpy(&low_x, xg + s * 8, 4);
      __builtin_memcpy(&high_x, xg + s * 8 + 4, 4);
      x_low[s] = _mm256_set1_epi32(low_x);
      x_high[s] = _mm256_set1_epi32(high_x);
    }
    const __m256 x_group_scale = _mm256_set1_ps(x_scale[g]);
    // Block by block, so the group's 1152 bytes are read in order.
    for (int b = 0; b < B; ++b) {
      const std::uint8_t* wb = w + g * stride + std::size_t(b) * quant::kQ4BlockBytes;
      __m256i sum[2] = {_mm256_set1_epi32(x_corr[g]), _mm256_set1_epi32(x_corr[g])};
      for (int s = 0; s < 4; ++s)
        for (int half = 0; half < 2; ++half) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + s * 64 + half * 32));
          sum[half] = _mm256_add_epi32(sum[half], dot_u8s8(_mm256_and_si256(v, low4), x_low[s]));
          sum[half] = _mm256_add_epi32(sum[half], dot_u8s8(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), x_high[s]));
        }
      for (int half = 0; half < 2; ++half) {
        const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
            w_scale + g * stride + std::size_t(b) * quant::kQ4ScaleBytes + half * 16)));
        acc[b][half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[half]), _mm256_mul_ps(scale, x_group_scale), acc[b][half]);
      }
    }
  }
  for (int b = 0; b < B; ++b)
    for (int half = 0; half < 2; ++half) _mm256_storeu_ps(y + std::size_t(b) * quant::kQ4BlockRows + half * 8, acc[b][half]);
}

}  // namespace

void matmul_q8(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t*,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* data = static_cast<const std::uint8_t*>(w.data);
  const std::size_t quads = w.cols / 4, scale_stride = quant::activation_groups(x_stride);
  const std::size_t block_bytes = quant::q8_block_bytes(w.cols);
  constexpr std::size_t rows = quant::kBlockRows;
  const std::size_t block_end = (row_end + rows - 1) / rows;
  for_each_block_tile<1, 4, 4>(tokens, row_begin / rows, block_end, [&]<int B, int C>(std::size_t b0, std::size_t t) {
    if constexpr (C == 1) {
      q8_decode_tile<B>(xq + t * x_stride, x_scale + t * scale_stride, data + b0 * block_bytes, block_bytes, quads,
                        row_end - b0 * rows, y + t * y_stride + b0 * rows);
    } else {
      for (std::size_t b = b0; b < b0 + B; ++b)
        for (std::size_t half = 0; half < 2; ++half) {  // rows 0-7 of the block, then 8-15
          const std::size_t first = b * rows + half * 8;
          if (first >= row_end) break;
          q8_half_tile<C>(xq + t * x_stride, x_stride, x_scale + t * scale_stride, scale_stride, data + b * block_bytes,
                          half, quads, row_end - first, y + t * y_stride + first, y_stride);
        }
    }
  });
}

void matmul_q4(const std::int8_t* xq, std::size_t x_stride, const float* x_scale, const std::int32_t* x_corr,
               std::size_t tokens, const MatrixView& w, std::size_t row_begin, std::size_t row_end, float* y,
               std::size_t y_stride) {
  const auto* packed = static_cast<const std::uint8_t*>(w.data);
  const std::size_t corr_stride = x_stride / quant::kQ4Group, groups = w.cols / quant::kQ4Group;
  constexpr std::size_t rows = quant::kQ4BlockRows;
  const std::size_t block_begin = row_begin / rows, block_end = row_end / rows, blocks = w.rows / rows;
  for_each_block_tile<1, 4, 4>(tokens, block_begin, block_end, [&]<int B, int C>(std::size_t b, std::size_t t) {
    const quant::Q4BlockPlace at = quant::q4_block_place(blocks, groups, b);
    if constexpr (C == 1) {
      q4_decode_tile<B>(xq + t * x_stride, x_scale + t * corr_stride, x_corr + t * corr_stride, packed + at.data,
                        packed + at.scales, at.group_stride, groups, y + t * y_stride + b * rows);
    } else {
      static_assert(B == 1);
      for (std::size_t half = 0; half < 2; ++half)  // rows 0-7 of the block, then 8-15
        q4_half_tile<C>(xq + t * x_stride, x_stride, x_scale + t * corr_stride, x_corr + t * corr_stride, corr_stride,
                        packed + at.data + half * 32, packed + at.scales + half * 16, at.group_stride, groups,
                        y + t * y_stride + b * rows + half * 8, y_stride);
    }
  });
}

void quantize_activations(const float* x, std::size_t n, std::int8_t* q, float* scale, std::int32_t* group_corr) {
  quant::quantize_activations(x, n, q, scale, group_corr);  // the scalar specification
}

}  // namespace kvlm::avx2_isa
