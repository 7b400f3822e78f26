// Splits a Jinja2 template into tokens the way jinja2.lexer does with
// transformers' settings (trim_blocks, lstrip_blocks): text between tags comes
// out with whitespace control already applied; tag contents come out as
// name, string, number and operator tokens.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm::chat {

struct Token {
  enum class Type { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };
  Type type;
  std::string text;  // Text / Name / String (unescaped) / Op spelling
  std::int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws kvlm::Error ("line N: ...") on an unterminated tag, comment or
// string and on characters Jinja2 does not accept inside tags.
std::vector<Token> tokenize(std::string_view source, const LexerOptions& options = {});

}  // namespace kvlm::chat
