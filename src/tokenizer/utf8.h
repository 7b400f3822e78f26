// UTF-8 helpers for the tokenizer: validation, code point iteration, and the
// lossy conversion (U+FFFD per maximal invalid subpart, as Python and Rust do)
// that decode() and the streaming detokenizer share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvlm::utf8 {

// Length of the UTF-8 sequence a lead byte announces (1..4), 0 for a byte
// that cannot start one.
inline int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Length of the valid sequence starting at s[i]; 0 when s[i..] starts with an
// invalid sequence; -k when the k bytes left are a valid but cut-short start.
int valid_sequence_at(std::string_view s, std::size_t i);

// Offset of the first invalid byte, or npos when `s` is entirely valid.
std::size_t find_invalid(std::string_view s);

// Decodes the code point at s[i] (s must be valid) and advances i.
inline std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const int n = sequence_length(b0);
  std::uint32_t cp = b0 & (0x7F >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += static_cast<std::size_t>(n);
  return cp;
}

void append_code_point(std::uint32_t cp, std::string& out);

// Appends `in` to `out` with every maximal invalid subpart replaced by U+FFFD.
// When `final` is false a trailing cut-short sequence is kept back: the return
// value is how many bytes of `in` were consumed.
std::size_t append_lossy(std::string_view in, std::string& out, bool final);

}  // namespace kvlm::utf8
