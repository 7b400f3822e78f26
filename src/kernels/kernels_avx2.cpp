// AVX2 + FMA + F16C kernels (Haswell and later).
#include <immintrin.h>

#define KVLM_ISA_NAMESPACE avx2_isa
#include "kernels/kernels_impl.h"

namespace kvlm {
namespace avx2_isa {

struct Avx2 {
  using reg = __m256;
  static constexpr std::size_t width = 8;
  static constexpr int tile_rows = 4;  // 4x2 accumulators + 4 weights + 1 input of 16 ymm
  static constexpr int decode_rows = 8;  // rows per one-token tile
  static constexpr int tile_tokens = 2;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg broadcast(float a) { return _mm256_set1_ps(a); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg load(const f16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static reg load(const bf16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg round(reg a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p x 2^n in two exact steps of 2^(n/2) built in the exponent field, so n
  // can span [-150, 128] (normal powers only reach [-126, 127]).
  static reg pow2n(reg p, reg n) {
    auto pow2 = [](__m256i e) {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
    };
    const __m256i whole = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(whole, 1);
    return _mm256_mul_ps(_mm256_mul_ps(p, pow2(half)), pow2(_mm256_sub_epi32(whole, half)));
  }
  static reg round_to_bf16(reg a) {  // as f32_to_bf16 (NaN payloads aside), widened back
    const __m256i u = _mm256_castps_si256(a);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32(int(0xffff0000u))));
  }
  static float sum(reg a) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
  // Eight horizontal sums at once: the sum of a[m] lands in lane
  // sum_each_lane(m), added in the same tree as sum() (128-bit
  // halves, then lanes k and k + 2, then the last pair), so bit for bit.
  static constexpr int sum_each_lane(int m) { return 4 * (m % 2) + m / 2; }
  static reg sum_each(const reg (&a)[8]) {
    reg halves[4], pairs[2];
    for (int i = 0; i < 4; ++i)
      halves[i] = _mm256_add_ps(_mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x20),
                                _mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x31));
    for (int i = 0; i < 2; ++i)
      pairs[i] = _mm256_add_ps(_mm256_shuffle_ps(halves[2 * i], halves[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm256_shuffle_ps(halves[2 * i], halves[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm256_add_ps(_mm256_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm256_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  static float reduce_max(reg a) {
    const __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(t, _mm_movehdup_ps(t)));
  }
  static void store(float* p, reg a) { _mm256_storeu_ps(p, a); }
  static void store(f16_t* p, reg a) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT));
  }
  static void store(bf16_t* p, reg a) {
    const __m256i r = _mm256_srli_epi32(_mm256_castps_si256(round_to_bf16(a)), 16);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
  }
};

}  // namespace avx2_isa

const KernelTable& kernel_table_avx2() {
  static const KernelTable table = avx2_isa::make_table<avx2_isa::Avx2>(Isa::avx2);
  return table;
}

}  // namespace kvlm
