// Jinja2 lexer emulation (see lexer.h).
#include "chat/lexer.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "chat/template_error.h"
#include "chat/text.h"

namespace kvlm::chat {
namespace {

// Code point at byte offset `pos` (advancing `len` bytes), for the Unicode
// whitespace that Jinja2's \s and str.rstrip() see.
char32_t code_point_at(std::string_view s, std::size_t pos, std::size_t& len) {
  const auto b = static_cast<unsigned char>(s[pos]);
  len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
  if (pos + len > s.size()) len = 1;
  const auto cps = decode_utf8(s.substr(pos, len));
  if (cps.size() != 1) {
    len = 1;
    return 0xDC00 + b;
  }
  return cps[0];
}

std::size_t skip_space(std::string_view s, std::size_t pos) {
  while (pos < s.size()) {
    std::size_t len = 1;
    if (!is_py_space(code_point_at(s, pos, len))) break;
    pos += len;
  }
  return pos;
}

bool all_space(std::string_view s) { return skip_space(s, 0) == s.size(); }

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& o) : src_(std::move(source)), opt_(o) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const std::size_t tag = find_tag(pos_);
      if (tag == std::string::npos) {
        push_text(src_.substr(pos_), line_at(pos_));
        pos_ = src_.size();
        break;
      }
      const char kind = src_[tag + 1];
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      std::string text = src_.substr(pos_, tag - pos_);
      if (sign == '-') {
        text = rstrip(text);
      } else if (sign != '+' && opt_.lstrip_blocks && kind != '{') {
        const std::size_t nl = text.rfind('\n');
        const std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        const bool line_starting = pos_ == 0 || src_[pos_ - 1] == '\n';
        if ((l_pos > 0 || line_starting) && all_space(std::string_view(text).substr(l_pos))) text.resize(l_pos);
      }
      push_text(text, line_at(pos_));
      pos_ = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        comment(tag);
      } else if (kind == '%' && raw_block(tag)) {
        continue;
      } else {
        inside_tag(kind == '%');
      }
    }
    tokens_.push_back(Token{Token::Type::Eof, "", 0, 0, line_at(src_.size())});
    return std::move(tokens_);
  }

  // Newlines are normalised to \n and one trailing newline dropped, as in
  // jinja2.lexer.Lexer.tokeniter.
  static std::string normalise(std::string_view in, bool keep_trailing_newline) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '\r') {
        out += '\n';
        if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
      } else {
        out += in[i];
      }
    }
    if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  std::string src_;
  LexerOptions opt_;
  std::size_t pos_ = 0;
  std::vector<Token> tokens_;
  std::size_t line_pos_ = 0;
  int line_ = 1;

  int line_at(std::size_t pos) {
    if (pos < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    for (; line_pos_ < pos && line_pos_ < src_.size(); ++line_pos_)
      if (src_[line_pos_] == '\n') ++line_;
    return line_;
  }

  [[noreturn]] void error(std::size_t pos, const std::string& what) {
    fail("line " + std::to_string(line_at(pos)) + ": " + what);
  }

  std::size_t find_tag(std::size_t from) const {
    for (std::size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1))
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
    return std::string::npos;
  }

  static std::string rstrip(const std::string& s) { return py_strip(s, false, true); }

  void push_text(std::string text, int line) {
    if (!text.empty()) tokens_.push_back(Token{Token::Type::Text, std::move(text), 0, 0, line});
  }

  void push(Token::Type t, std::string text, std::size_t pos) {
    tokens_.push_back(Token{t, std::move(text), 0, 0, line_at(pos)});
  }

  // After a closing delimiter: '-' eats all following whitespace, a plain
  // block or comment end eats one newline (trim_blocks), '+' eats nothing.
  void after_end(char sign, bool block_like) {
    if (sign == '-') {
      pos_ = skip_space(src_, pos_);
    } else if (sign != '+' && block_like && opt_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
  }

  void comment(std::size_t tag) {
    const std::size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) error(tag, "missing end of comment tag");
    const char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    pos_ = end + 2;
    after_end(sign, true);
  }

  // {% raw %}...{% endraw %}: the body is text, untouched.
  bool raw_block(std::size_t tag) {
    std::size_t p = skip_space(src_, pos_);
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p + 3])) || src_[p + 3] == '_')))
      return false;
    p = skip_space(src_, p + 3);
    char sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    pos_ = p + 2;
    after_end(sign, true);
    for (std::size_t q = src_.find("{%", pos_); q != std::string::npos; q = src_.find("{%", q + 1)) {
      std::size_t r = q + 2;
      char open_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) open_sign = src_[r++];
      r = skip_space(src_, r);
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r = skip_space(src_, r + 6);
      char close_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) close_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = src_.substr(pos_, q - pos_);
      if (open_sign == '-') body = rstrip(body);
      push_text(body, line_at(pos_));
      pos_ = r + 2;
      after_end(close_sign, true);
      return true;
    }
    error(tag, "missing end of raw directive");
  }

  void inside_tag(bool block) {
    const std::size_t start = pos_ - 2;
    push(block ? Token::Type::BlockBegin : Token::Type::VarBegin, "", start);
    const char* close = block ? "%}" : "}}";
    std::string brackets;
    while (true) {
      pos_ = skip_space(src_, pos_);
      if (pos_ >= src_.size()) error(start, std::string("unexpected end of template, expected '") + close + "'");
      if (brackets.empty()) {
        char sign = 0;
        std::size_t p = pos_;
        if (src_[p] == '-' || src_[p] == '+') sign = src_[p++];
        if (src_.compare(p, 2, close) == 0 && !(sign == '+' && !block)) {
          push(block ? Token::Type::BlockEnd : Token::Type::VarEnd, "", pos_);
          pos_ = p + 2;
          after_end(sign, block);
          return;
        }
      }
      const char c = src_[pos_];
      if (c == '\'' || c == '"') {
        string_literal();
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        number();
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t e = pos_;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        push(Token::Type::Name, src_.substr(pos_, e - pos_), pos_);
        pos_ = e;
      } else {
        static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* t : two)
          if (src_.compare(pos_, 2, t) == 0) op = t;
        if (op.empty()) {
          if (!std::strchr("+-*/%~[](){}<>=.:|,;", c)) error(pos_, std::string("unexpected char '") + c + "'");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") {
          brackets += op;
        } else if (op == ")" || op == "]" || op == "}") {
          const char want = op == ")" ? '(' : op == "]" ? '[' : '{';
          if (brackets.empty() || brackets.back() != want) error(pos_, "unexpected '" + op + "'");
          brackets.pop_back();
        }
        push(Token::Type::Op, op, pos_);
        pos_ += op.size();
      }
    }
  }

  void number() {
    const std::size_t begin = pos_;
    auto digits = [&](std::size_t p) {
      // \d+(_\d+)*
      if (p >= src_.size() || !std::isdigit(static_cast<unsigned char>(src_[p]))) return std::string::npos;
      while (p < src_.size()) {
        if (std::isdigit(static_cast<unsigned char>(src_[p]))) {
          ++p;
        } else if (src_[p] == '_' && p + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
          ++p;
        } else {
          break;
        }
      }
      return p;
    };
    std::size_t p = digits(pos_);
    bool is_float = false;
    const bool after_dot = begin > 0 && src_[begin - 1] == '.';  // "x.0.1" is two subscripts
    if (!after_dot && p < src_.size() && src_[p] == '.') {
      const std::size_t q = digits(p + 1);
      if (q != std::string::npos) {
        p = q;
        is_float = true;
      }
    }
    if (!after_dot && p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      std::size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      q = digits(q);
      if (q != std::string::npos) {
        p = q;
        is_float = true;
      }
    }
    std::string spelled;
    for (std::size_t i = begin; i < p; ++i)
      if (src_[i] != '_') spelled += src_[i];
    Token t{is_float ? Token::Type::Float : Token::Type::Int, spelled, 0, 0, line_at(begin)};
    try {
      if (is_float) {
        t.float_value = std::stod(spelled);
      } else {
        t.int_value = std::stoll(spelled);
      }
    } catch (const std::out_of_range&) {
      if (is_float) {
        t.float_value = spelled.find('-') == std::string::npos && spelled.find("e-") == std::string::npos ? HUGE_VAL : 0.0;
      } else {
        error(begin, "integer literal out of range: " + spelled);
      }
    }
    tokens_.push_back(std::move(t));
    pos_ = p;
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Python's unicode-escape decoding, as jinja2.lexer applies it to literals.
  void string_literal() {
    const std::size_t begin = pos_;
    const char quote = src_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) error(begin, "unexpected end of string literal");
      const char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= src_.size()) error(begin, "unexpected end of string literal");
      const char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            const int h = pos_ < src_.size() ? hex_value(src_[pos_]) : -1;
            if (h < 0) error(begin, std::string("truncated \\") + e + " escape in string literal");
            cp = cp * 16 + static_cast<char32_t>(h);
            ++pos_;
          }
          if (cp > 0x10FFFF) error(begin, "illegal Unicode character in string literal");
          append_utf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              cp = cp * 8 + static_cast<char32_t>(src_[pos_++] - '0');
            append_utf8(out, cp);
          } else if (e == 'N') {
            error(begin, "\\N{...} escapes are not supported");
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    push(Token::Type::String, std::move(out), begin);
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexerOptions& options) {
  Lexer lexer(Lexer::normalise(source, options.keep_trailing_newline), options);
  return lexer.run();
}

}  // namespace kvlm::chat
