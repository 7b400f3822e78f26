// Jinja2's filters, tests and globals as the chat templates need them, plus
// Python attribute and method access (str.strip, dict.items, ...) under the
// immutable sandbox's rules.
#pragma once

#include <string>
#include <string_view>

#include "chat/value.h"

namespace kvlm::chat {

using FilterFunction = Value (*)(Interpreter&, const Value& input, Args& args);
using TestFunction = bool (*)(Interpreter&, const Value& input, Args& args);

FilterFunction find_filter(std::string_view name);
TestFunction find_test(std::string_view name);

// jinja2's environment.getattr / getitem: `obj.name` prefers Python
// attributes (methods) over keys, `obj[key]` prefers keys. Missing members
// are Undefined; only an Undefined receiver is an error.
Value get_attribute(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Items a `for` loop (or list()) walks: list items, dict keys, string code
// points; Undefined gives nothing. Throws for non-iterables.
std::vector<Value> iterate(const Value& v);

}  // namespace kvlm::chat
