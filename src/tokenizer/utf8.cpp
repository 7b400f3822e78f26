#include "tokenizer/utf8.h"

namespace kvlm::utf8 {

int valid_sequence_at(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  const int n = sequence_length(b0);
  if (n <= 1) return n;
  // The second byte's range depends on the lead (no overlongs, no surrogates,
  // nothing above U+10FFFF); later bytes are plain continuation bytes.
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 == 0xE0) lo = 0xA0;
  if (b0 == 0xED) hi = 0x9F;
  if (b0 == 0xF0) lo = 0x90;
  if (b0 == 0xF4) hi = 0x8F;
  for (int k = 1; k < n; ++k) {
    if (i + static_cast<std::size_t>(k) >= s.size()) return -k;
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return n;
}

std::size_t find_invalid(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const int n = valid_sequence_at(s, i);
    if (n <= 0) return i;
    i += static_cast<std::size_t>(n);
  }
  return std::string_view::npos;
}

void append_code_point(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::size_t append_lossy(std::string_view in, std::string& out, bool final) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::size_t i = 0;
  while (i < in.size()) {
    const int n = valid_sequence_at(in, i);
    if (n > 0) {
      out.append(in.substr(i, static_cast<std::size_t>(n)));
      i += static_cast<std::size_t>(n);
    } else if (n < 0) {
      // A valid start cut short by the end of the input: wait for more bytes.
      if (!final) return i;
      out.append(kReplacement);
      i += static_cast<std::size_t>(-n);
    } else {
      // Maximal subpart: the lead plus the continuation bytes that were valid.
      std::size_t k = 1;
      const int want = sequence_length(static_cast<unsigned char>(in[i]));
      if (want > 1) {
        const std::string_view rest = in.substr(i);
        while (k < static_cast<std::size_t>(want) && k < rest.size()) {
          // Extend while the prefix still is a valid start.
          std::string_view probe = rest.substr(0, k + 1);
          if (valid_sequence_at(probe, 0) != -static_cast<int>(k + 1) &&
              valid_sequence_at(probe, 0) != static_cast<int>(k + 1))
            break;
          ++k;
        }
      }
      out.append(kReplacement);
      i += k;
    }
  }
  return i;
}

}  // namespace kvlm::utf8
