// AVX-512 streaming read: 8 independent 512-bit accumulators, 512 bytes a step.
#include <immintrin.h>

#include "core/bandwidth_kernels.h"

namespace kvlm::bandwidth_detail {

std::uint64_t read_avx512(const std::byte* p, std::size_t bytes) {
  __m512i a[8];
  for (auto& r : a) r = _mm512_setzero_si512();
  for (std::size_t i = 0; i < bytes; i += 512) {
    const auto* v = reinterpret_cast<const __m512i*>(p + i);
    for (int k = 0; k < 8; ++k) a[k] = _mm512_xor_si512(a[k], _mm512_load_si512(v + k));
  }
  for (int k = 1; k < 8; ++k) a[0] = _mm512_xor_si512(a[0], a[k]);
  alignas(64) std::uint64_t out[8];
  _mm512_store_si512(out, a[0]);
  std::uint64_t x = 0;
  for (const std::uint64_t v : out) x ^= v;
  return x;
}

}  // namespace kvlm::bandwidth_detail
