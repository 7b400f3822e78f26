#include "tokenizer/json_scan.h"

#include <cstring>

#include "kvlm/error.h"
#include "tokenizer/utf8.h"

namespace kvlm::tok {

void JsonScanner::fail(const std::string& what) const {
  throw Error(source_ + ": malformed JSON at byte " + std::to_string(pos_) + ": " + what);
}

void JsonScanner::expect(char c) {
  if (peek() != c) fail(std::string("expected '") + c + "'");
  ++pos_;
}

bool JsonScanner::accept(char c) {
  if (peek() != c) return false;
  ++pos_;
  return true;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

namespace {

struct StringSink {
  std::string& s;
  void append(const char* p, std::size_t n) { s.append(p, n); }
  void push(char c) { s += c; }
  void code_point(std::uint32_t cp) { utf8::append_code_point(cp, s); }
};

struct RawSink {
  char* p;
  std::size_t n = 0;
  void append(const char* src, std::size_t len) {
    std::memcpy(p + n, src, len);
    n += len;
  }
  void push(char c) { p[n++] = c; }
  void code_point(std::uint32_t cp) {
    std::string tmp;
    utf8::append_code_point(cp, tmp);
    append(tmp.data(), tmp.size());
  }
};

}  // namespace

void JsonScanner::read_string(std::string& out) {
  StringSink sink{out};
  read_string_to(sink);
}

std::size_t JsonScanner::read_string(char* out) {
  RawSink sink{out};
  read_string_to(sink);
  return sink.n;
}

template <class Sink>
void JsonScanner::read_string_to(Sink& out) {
  expect('"');
  for (;;) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\\') ++pos_;
    out.append(text_.data() + start, pos_ - start);
    if (pos_ >= text_.size()) fail("unterminated string");
    if (text_[pos_++] == '"') return;
    if (pos_ >= text_.size()) fail("unterminated string");
    const char e = text_[pos_++];
    switch (e) {
      case '"': out.push('"'); break;
      case '\\': out.push('\\'); break;
      case '/': out.push('/'); break;
      case 'b': out.push('\b'); break;
      case 'f': out.push('\f'); break;
      case 'n': out.push('\n'); break;
      case 'r': out.push('\r'); break;
      case 't': out.push('\t'); break;
      case 'u': {
        auto read_hex4 = [&]() -> std::uint32_t {
          if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
          std::uint32_t v = 0;
          for (int k = 0; k < 4; ++k) {
            const int h = hex_value(text_[pos_ + static_cast<std::size_t>(k)]);
            if (h < 0) fail("bad \\u escape");
            v = (v << 4) | static_cast<std::uint32_t>(h);
          }
          pos_ += 4;
          return v;
        };
        std::uint32_t cp = read_hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') fail("lone surrogate");
          pos_ += 2;
          const std::uint32_t lo = read_hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) fail("bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("lone surrogate");
        }
        out.code_point(cp);
        break;
      }
      default:
        fail("bad escape");
    }
  }
}

std::int64_t JsonScanner::read_integer() {
  skip_ws();
  bool negative = false;
  if (pos_ < text_.size() && text_[pos_] == '-') {
    negative = true;
    ++pos_;
  }
  const std::size_t start = pos_;
  std::int64_t v = 0;
  while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
    v = v * 10 + (text_[pos_] - '0');
    if (v > (std::int64_t{1} << 40)) fail("integer out of range");
    ++pos_;
  }
  if (pos_ == start) fail("expected an integer");
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) fail("expected an integer");
  return negative ? -v : v;
}

void JsonScanner::skip_string() {
  ++pos_;  // opening quote
  while (pos_ < text_.size()) {
    const char c = text_[pos_++];
    if (c == '\\') {
      ++pos_;
    } else if (c == '"') {
      return;
    }
  }
  fail("unterminated string");
}

std::string_view JsonScanner::skip_value() {
  skip_ws();
  const std::size_t start = pos_;
  int depth = 0;
  do {
    if (pos_ >= text_.size()) fail("unexpected end of input");
    const char c = text_[pos_];
    if (c == '"') {
      skip_string();
    } else if (c == '{' || c == '[') {
      ++depth;
      ++pos_;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) fail("unbalanced brackets");
      ++pos_;
    } else if (depth == 0) {
      // A scalar at top level: runs to the next delimiter.
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' && text_[pos_] != ']' &&
             text_[pos_] != ' ' && text_[pos_] != '\n' && text_[pos_] != '\r' && text_[pos_] != '\t')
        ++pos_;
      if (pos_ == start) fail("expected a value");
    } else {
      ++pos_;
    }
  } while (depth > 0);
  return text_.substr(start, pos_ - start);
}

bool JsonScanner::next_key(std::string& key, bool& first) {
  if (accept('}')) return false;
  if (!first) expect(',');
  first = false;
  key.clear();
  read_string(key);
  expect(':');
  return true;
}

bool JsonScanner::next_element(bool& first) {
  if (accept(']')) return false;
  if (!first) expect(',');
  first = false;
  return true;
}

}  // namespace kvlm::tok
