// The value model of the chat-template renderer: Python objects as Jinja2
// sees them (None, bool, int, float, str, list, tuple, dict, Namespace,
// callables) plus Jinja2's default Undefined. Lists and dicts are immutable
// once built (the sandbox forbids mutation); only a Namespace is mutable.
// Values share their payload, so copies are cheap.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvlm::chat {

class Value;
class Interpreter;

struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

using NativeFunction = std::function<Value(Interpreter&, Args&)>;

struct Callable {
  std::string name;
  NativeFunction fn;
};

struct ListData {
  std::vector<Value> items;
  bool tuple = false;
};

// Insertion-ordered like a Python dict; lookups are linear, which is the fast
// path for the handful of keys a chat message or tool schema has.
struct DictData {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  void set(Value key, Value value);
};

class Value {
 public:
  enum class Kind : std::uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

  Value() = default;  // Undefined
  Value(bool b) : kind_(Kind::Bool) { scalar_.b = b; }
  Value(std::int64_t i) : kind_(Kind::Int) { scalar_.i = i; }
  Value(int i) : Value(static_cast<std::int64_t>(i)) {}
  Value(double f) : kind_(Kind::Float) { scalar_.f = f; }
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}

  static Value undefined(std::string hint = {});
  static Value none();
  static Value list(std::vector<Value> items, bool tuple = false);
  static Value dict(DictData d);
  static Value make_namespace(DictData attrs = {});
  static Value callable(std::string name, NativeFunction fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Bool || kind_ == Kind::Int || kind_ == Kind::Float; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_callable() const { return kind_ == Kind::Callable; }

  bool as_bool() const { return scalar_.b; }
  std::int64_t as_int() const { return kind_ == Kind::Bool ? static_cast<std::int64_t>(scalar_.b) : scalar_.i; }
  double as_float() const;  // any number
  const std::string& as_string() const { return *static_cast<const std::string*>(ptr_.get()); }
  const ListData& as_list() const { return *static_cast<const ListData*>(ptr_.get()); }
  const DictData& as_dict() const { return *static_cast<const DictData*>(ptr_.get()); }
  DictData& namespace_attrs() const { return *static_cast<DictData*>(ptr_.get()); }
  const Callable& as_callable() const { return *static_cast<const Callable*>(ptr_.get()); }
  // The error an Undefined raises when used ("'x' is undefined", "'dict
  // object' has no attribute 'y'").
  std::string undefined_hint() const;

  bool truthy() const;
  std::string str() const;   // Python str()
  std::string repr() const;  // Python repr()
  std::string type_name() const;  // Python type name, for error messages
  bool same_object(const Value& other) const { return kind_ == other.kind_ && ptr_ == other.ptr_; }

 private:
  Kind kind_ = Kind::Undefined;
  union {
    bool b;
    std::int64_t i;
    double f;
  } scalar_{};
  std::shared_ptr<void> ptr_;
};

// Python ==, with Jinja2's Undefined equal only to Undefined.
bool py_equal(const Value& a, const Value& b);
// Python <; throws Error for unorderable types.
bool py_less(const Value& a, const Value& b);
std::string py_float_repr(double f);

Value from_json(const nlohmann::ordered_json& j);

// json.dumps with transformers' tojson defaults (ensure_ascii=False).
struct JsonFormat {
  std::optional<std::string> indent;  // None: one line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string to_json(const Value& v, const JsonFormat& format);

// Binds call arguments to the parameter names of a Python-style signature:
// the result has one entry per name, Undefined where not given. Throws on a
// missing required argument, an unknown keyword or too many arguments.
std::vector<Value> bind_args(const Args& args, std::initializer_list<std::string_view> names, std::size_t required,
                             std::string_view function);

}  // namespace kvlm::chat
