// AVX-512 kernels (F/BW/VL/DQ; the table is only chosen when BF16 and VNNI
// are present too, for the quantized kernels that build on it).
#include <immintrin.h>

#define KVLM_ISA_NAMESPACE avx512_isa
#include "kernels/kernels_impl.h"

namespace kvlm {
namespace avx512_isa {

struct Avx512 {
  using reg = __m512;
  static constexpr std::size_t width = 16;
  static constexpr int tile_rows = 4;  // 4x4 accumulators + 4 weights + 1 input of 32 zmm
  // Rows per one-token tile: 8, not 16. Rows of these shapes are a multiple
  // of 4 KiB apart, so 16 row streams share one L1 set (12 ways) and evict
  // each other: 16-row tiles ran at 52-57 GB/s from L2, 8-row at 86-97.
  static constexpr int decode_rows = 8;
  static constexpr int tile_tokens = 4;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg broadcast(float a) { return _mm512_set1_ps(a); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg load(const f16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static reg load(const bf16_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg round(reg a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static reg pow2n(reg p, reg n) { return _mm512_scalef_ps(p, n); }
  // Rounds to nearest even on the integer bits, as f32_to_bf16 (NaN payloads aside).
  static reg round_to_bf16(reg a) {
    const __m512i u = _mm512_castps_si512(a);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(int(0xffff0000u))));
  }
  // The tree GCC's _mm512_reduce_add_ps adds in (256-bit halves, 128-bit
  // halves, lanes k and k + 2, the last pair), spelled out so that the bits
  // do not depend on the compiler's reduction: sum_each must match them.
  static float sum(reg a) {
    const __m256 halves = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    const __m128 blocks = _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1));
    const __m128 pairs = _mm_add_ps(blocks, _mm_movehl_ps(blocks, blocks));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
  }
  // Sixteen horizontal sums at once: the sum of a[m] lands in lane
  // sum_each_lane(m), added in the same tree as sum() (halves, then
  // 128-bit blocks, then lanes k and k + 2, then the last pair), so bit for
  // bit. 15 adds and 30 shuffles instead of 16 x (4 adds and 4 shuffles).
  static constexpr int sum_each_lane(int m) { return 4 * (m % 4) + m / 4; }
  static reg sum_each(const reg (&a)[16]) {
    reg halves[8], blocks[4], pairs[2];
    for (int i = 0; i < 8; ++i)
      halves[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                                _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int i = 0; i < 4; ++i)
      blocks[i] = _mm512_add_ps(_mm512_shuffle_f32x4(halves[2 * i], halves[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                _mm512_shuffle_f32x4(halves[2 * i], halves[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int i = 0; i < 2; ++i)
      pairs[i] = _mm512_add_ps(_mm512_shuffle_ps(blocks[2 * i], blocks[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm512_shuffle_ps(blocks[2 * i], blocks[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_ps(_mm512_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  static float reduce_max(reg a) { return _mm512_reduce_max_ps(a); }
  static void store(float* p, reg a) { _mm512_storeu_ps(p, a); }
  static void store(f16_t* p, reg a) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT));
  }
  static void store(bf16_t* p, reg a) {
    const __m512i r = _mm512_srli_epi32(_mm512_castps_si512(round_to_bf16(a)), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(r));
  }
};

// bf16 weights with vdpbf16ps: each instruction does 32 bf16 x bf16
// multiply-adds into 16 f32 lanes.
template <int R, int C>
void bf16_tile(const bf16_t* x, std::size_t x_stride, const bf16_t* w, std::size_t in, float* y, std::size_t y_stride) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= in; i += 32) {
    __m512bh xv[C];
    for (int c = 0; c < C; ++c) xv[c] = (__m512bh)_mm512_loadu_si512(x + std::size_t(c) * x_stride + i);
    if constexpr (C == 1) {  // decode, as in kernels_impl.h
      const std::size_t ahead = decode_prefetch_offset<R>(i * sizeof(bf16_t), in * sizeof(bf16_t));
      for (int r = 0; r < R; ++r)
        prefetch_at(w + std::size_t(r) * in, ahead);
    }
    for (int r = 0; r < R; ++r) {
      const __m512bh wv = (__m512bh)_mm512_loadu_si512(w + std::size_t(r) * in + i);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv, xv[c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float tail = 0.0f;
      for (std::size_t k = i; k < in; ++k)
        tail += to_f32(x[std::size_t(c) * x_stride + k]) * to_f32(w[std::size_t(r) * in + k]);
      y[std::size_t(c) * y_stride + std::size_t(r)] = _mm512_reduce_add_ps(acc[r][c]) + tail;
    }
}

void matmul_bf16_dot(const bf16_t* x, std::size_t x_stride, std::size_t tokens, const bf16_t* w, std::size_t in,
                     std::size_t row_begin, std::size_t row_end, float* y, std::size_t y_stride) {
  auto tile = [&]<int R, int C>(std::size_t r, std::size_t t) {
    bf16_tile<R, C>(x + t * x_stride, x_stride, w + r * in, in, y + t * y_stride + r, y_stride);
  };
  if (tokens == 1)  // decode: more rows in flight, as in kernels_impl.h
    for_each_tile<Avx512::decode_rows, 1>(tokens, row_begin, row_end, tile);
  else
    for_each_tile<6, 4>(tokens, row_begin, row_end, tile);
}

}  // namespace avx512_isa

const KernelTable& kernel_table_avx512() {
  static const KernelTable table = [] {
    KernelTable t = avx512_isa::make_table<avx512_isa::Avx512>(Isa::avx512);
    t.matmul_bf16 = &avx512_isa::matmul_bf16_dot;
    return t;
  }();
  return table;
}

}  // namespace kvlm
