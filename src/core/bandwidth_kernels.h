// Streaming-read loops for the bandwidth probe, one per ISA. Each reads
// [p, p + bytes) once and returns a value that depends on every byte, so the
// compiler cannot drop the loads. p is 64-byte aligned; bytes a multiple of 512.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kvlm::bandwidth_detail {

std::uint64_t read_generic(const std::byte* p, std::size_t bytes);
std::uint64_t read_avx2(const std::byte* p, std::size_t bytes);
std::uint64_t read_avx512(const std::byte* p, std::size_t bytes);

}  // namespace kvlm::bandwidth_detail
