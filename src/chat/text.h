// Python-compatible string helpers for the chat-template renderer: UTF-8
// code points (Jinja indexes and measures strings by code point), Python's
// whitespace set (str.strip / split / trim), simple case mapping and repr.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm::chat {

// Decodes UTF-8; an invalid byte becomes its own code point (U+DC80 + byte
// in Python's surrogateescape spirit) so that no input is ever lost.
std::vector<char32_t> decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(const std::vector<char32_t>& cps, std::size_t begin, std::size_t end);
std::size_t count_code_points(std::string_view s);

// str.isspace() of Python: Unicode White_Space plus the ASCII separators.
bool is_py_space(char32_t c);
// str.splitlines() boundaries.
bool is_line_break(char32_t c);

std::string py_strip(std::string_view s, bool left, bool right);
std::string py_strip_chars(std::string_view s, std::string_view chars, bool left, bool right);
std::vector<std::string> py_split_whitespace(std::string_view s, long long maxsplit);
std::vector<std::string> py_split(std::string_view s, std::string_view sep, long long maxsplit);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);
std::string py_replace(std::string_view s, std::string_view old_s, std::string_view new_s, long long count);

// Simple (one-to-one) case mapping for Latin, Greek and Cyrillic; other
// scripts are returned unchanged.
char32_t to_upper_cp(char32_t c);
char32_t to_lower_cp(char32_t c);
bool is_cased_letter(char32_t c);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);

// repr() of a Python str, quotes included.
std::string py_repr_string(std::string_view s);

}  // namespace kvlm::chat
