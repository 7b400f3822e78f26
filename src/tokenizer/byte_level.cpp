#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace kvlm::tok {
namespace {

struct Tables {
  std::array<std::uint32_t, 256> byte_to_cp{};
  std::array<std::int16_t, 324> cp_to_byte{};  // every alphabet code point is < 324

  Tables() {
    cp_to_byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const std::uint32_t cp = printable ? std::uint32_t(b) : std::uint32_t(next++);
      byte_to_cp[std::size_t(b)] = cp;
      cp_to_byte[cp] = std::int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::uint32_t byte_to_code_point(std::uint8_t b) { return tables().byte_to_cp[b]; }

int code_point_to_byte(std::uint32_t cp) {
  return cp < tables().cp_to_byte.size() ? tables().cp_to_byte[cp] : -1;
}

bool byte_level_to_bytes(std::string_view token, std::string& out) {
  out.clear();
  if (utf8::find_invalid(token) != std::string_view::npos) return false;
  std::size_t i = 0;
  while (i < token.size()) {
    const int b = code_point_to_byte(utf8::next_code_point(token, i));
    if (b < 0) return false;
    out += static_cast<char>(b);
  }
  return true;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) utf8::append_code_point(byte_to_code_point(static_cast<std::uint8_t>(c)), out);
  return out;
}

}  // namespace kvlm::tok
