// Python str semantics over UTF-8 (see text.h).
#include "chat/text.h"

#include <algorithm>

namespace kvlm::chat {

std::vector<char32_t> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((c >> 6) != 2) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      out.push_back(0xDC00 + b);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= 0xDC80 && cp <= 0xDCFF) {  // an undecodable byte kept by decode_utf8
    out.push_back(static_cast<char>(cp - 0xDC00));
  } else if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(const std::vector<char32_t>& cps, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end && i < cps.size(); ++i) append_utf8(out, cps[i]);
  return out;
}

std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
         c == 0x2028 || c == 0x2029;
}

namespace {

template <class Pred>
std::string strip_if(std::string_view s, bool left, bool right, Pred pred) {
  const auto cps = decode_utf8(s);
  std::size_t b = 0, e = cps.size();
  if (left)
    while (b < e && pred(cps[b])) ++b;
  if (right)
    while (e > b && pred(cps[e - 1])) --e;
  return encode_utf8(cps, b, e);
}

}  // namespace

std::string py_strip(std::string_view s, bool left, bool right) { return strip_if(s, left, right, is_py_space); }

std::string py_strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
  const auto set = decode_utf8(chars);
  return strip_if(s, left, right, [&](char32_t c) { return std::find(set.begin(), set.end(), c) != set.end(); });
}

std::vector<std::string> py_split_whitespace(std::string_view s, long long maxsplit) {
  const auto cps = decode_utf8(s);
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    while (i < cps.size() && is_py_space(cps[i])) ++i;
    if (i >= cps.size()) break;
    if (maxsplit >= 0 && static_cast<long long>(out.size()) >= maxsplit) {
      std::size_t e = cps.size();
      while (e > i && is_py_space(cps[e - 1])) --e;
      out.push_back(encode_utf8(cps, i, e));
      break;
    }
    std::size_t j = i;
    while (j < cps.size() && !is_py_space(cps[j])) ++j;
    out.push_back(encode_utf8(cps, i, j));
    i = j;
  }
  return out;
}

std::vector<std::string> py_split(std::string_view s, std::string_view sep, long long maxsplit) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (maxsplit < 0 || static_cast<long long>(out.size()) < maxsplit) {
    const std::size_t hit = s.find(sep, pos);
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
  const auto cps = decode_utf8(s);
  std::vector<std::string> out;
  std::size_t start = 0, i = 0;
  while (i < cps.size()) {
    if (!is_line_break(cps[i])) {
      ++i;
      continue;
    }
    std::size_t eol = i + 1;
    if (cps[i] == '\r' && eol < cps.size() && cps[eol] == '\n') ++eol;
    out.push_back(encode_utf8(cps, start, keepends ? eol : i));
    start = i = eol;
  }
  if (start < cps.size()) out.push_back(encode_utf8(cps, start, cps.size()));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old_s, std::string_view new_s, long long count) {
  std::string out;
  if (old_s.empty()) {  // Python inserts `new` between every code point
    const auto cps = decode_utf8(s);
    long long done = 0;
    for (std::size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += new_s;
        ++done;
      }
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  std::size_t pos = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    const std::size_t hit = s.find(old_s, pos);
    if (hit == std::string_view::npos) break;
    out += s.substr(pos, hit - pos);
    out += new_s;
    pos = hit + old_s.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

char32_t to_upper_cp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if (c == 0xB5) return 0x39C;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    const bool odd_lower = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
    const bool even_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_lower && (c & 1)) return c - 1;
    if (even_lower && !(c & 1)) return c - 1;
    return c;
  }
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x3B1 && c <= 0x3C9) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

char32_t to_lower_cp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130) return 'i';
    const bool even_upper = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (even_upper && !(c & 1)) return c + 1;
    if (odd_upper && (c & 1)) return c + 1;
    return c;
  }
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool is_cased_letter(char32_t c) {
  return to_upper_cp(c) != c || to_lower_cp(c) != c || c == 0xDF || c == 0x138 || c == 0x149;
}

std::string py_upper(std::string_view s) {
  std::string out;
  for (char32_t c : decode_utf8(s)) {
    if (c == 0xDF) {
      out += "SS";
      continue;
    }
    append_utf8(out, to_upper_cp(c));
  }
  return out;
}

std::string py_lower(std::string_view s) {
  std::string out;
  for (char32_t c : decode_utf8(s)) append_utf8(out, to_lower_cp(c));
  return out;
}

std::string py_capitalize(std::string_view s) {
  const auto cps = decode_utf8(s);
  std::string out;
  for (std::size_t i = 0; i < cps.size(); ++i) append_utf8(out, i == 0 ? to_upper_cp(cps[i]) : to_lower_cp(cps[i]));
  return out;
}

std::string py_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : decode_utf8(s)) {
    const bool cased = is_cased_letter(c);
    append_utf8(out, cased ? (prev_cased ? to_lower_cp(c) : to_upper_cp(c)) : c);
    prev_cased = cased;
  }
  return out;
}

namespace {

// Characters Python's str.isprintable() rejects, for the ranges that occur in
// practice: controls, separators other than the ASCII space, format characters.
bool is_unprintable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return true;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F))
    return true;
  if (c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xD800 && c <= 0xF8FF)) return true;
  return c >= 0xF0000;
}

}  // namespace

std::string py_repr_string(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  static const char* hex = "0123456789abcdef";
  for (char32_t c : decode_utf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
      out += "\\udc";
      out += hex[(c >> 4) & 15];
      out += hex[c & 15];
    } else if (is_unprintable(c)) {
      if (c < 0x100) {
        out += "\\x";
      } else if (c < 0x10000) {
        out += "\\u";
        out += hex[(c >> 12) & 15];
        out += hex[(c >> 8) & 15];
      } else {
        out += "\\U00";
        out += hex[(c >> 20) & 15];
        out += hex[(c >> 16) & 15];
        out += hex[(c >> 12) & 15];
        out += hex[(c >> 8) & 15];
      }
      out += hex[(c >> 4) & 15];
      out += hex[c & 15];
    } else {
      append_utf8(out, c);
    }
  }
  out += quote;
  return out;
}

}  // namespace kvlm::chat
