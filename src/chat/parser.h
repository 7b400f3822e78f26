// Recursive-descent parser for the Jinja2 statement and expression grammar
// (jinja2.parser precedence). Unknown filters, tests and tags are syntax
// errors at parse time, as in Jinja2.
#pragma once

#include <string_view>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace kvlm::chat {

// Throws kvlm::Error ("line N: ...") on any syntax error.
Template parse_template(std::string_view source, const LexerOptions& options = {});

}  // namespace kvlm::chat
