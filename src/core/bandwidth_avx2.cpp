// AVX2 streaming read: 8 independent 256-bit accumulators, 256 bytes a step.
#include <immintrin.h>

#include "core/bandwidth_kernels.h"

namespace kvlm::bandwidth_detail {

std::uint64_t read_avx2(const std::byte* p, std::size_t bytes) {
  __m256i a[8];
  for (auto& r : a) r = _mm256_setzero_si256();
  for (std::size_t i = 0; i < bytes; i += 256) {
    const auto* v = reinterpret_cast<const __m256i*>(p + i);
    for (int k = 0; k < 8; ++k) a[k] = _mm256_xor_si256(a[k], _mm256_load_si256(v + k));
  }
  for (int k = 1; k < 8; ++k) a[0] = _mm256_xor_si256(a[0], a[k]);
  alignas(32) std::uint64_t out[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), a[0]);
  return out[0] ^ out[1] ^ out[2] ^ out[3];
}

}  // namespace kvlm::bandwidth_detail
