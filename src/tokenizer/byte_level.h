// The GPT-2 byte-level alphabet: each byte is written as one printable code
// point in vocab strings (space is "Ġ", newline "Ċ"). kvlm runs byte-level BPE
// on raw bytes, so these tables are only used to convert vocab strings at
// load time and to spell tokens back in id_to_token().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvlm::tok {

// Code point that stands for byte b.
std::uint32_t byte_to_code_point(std::uint8_t b);
// Byte that code point cp stands for, or -1 when cp is not in the alphabet.
int code_point_to_byte(std::uint32_t cp);

// Converts a byte-level vocab string to raw bytes; false when some character
// is outside the alphabet (the token cannot come out of byte-level BPE).
bool byte_level_to_bytes(std::string_view token, std::string& out);
// Spells raw bytes in the byte-level alphabet.
std::string bytes_to_byte_level(std::string_view bytes);

}  // namespace kvlm::tok
