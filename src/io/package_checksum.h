// The checksum of a .kvlm package's header and blobs (io/package_format.h):
// XXH3-64 from libxxhash, chosen because it hashes at about memory speed
// (14 GB/s on one core here with the library's AVX2 dispatch), so checking
// every blob costs little more than reading the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvlm::package {

std::uint64_t checksum(const void* data, std::size_t bytes);

// As the header records a blob's checksum: 16 lowercase hex digits.
std::string checksum_hex(std::uint64_t value);
// The inverse; nullopt unless `text` is exactly 16 hex digits.
std::optional<std::uint64_t> parse_checksum_hex(std::string_view text);

}  // namespace kvlm::package
