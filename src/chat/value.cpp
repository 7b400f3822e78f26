// Python object semantics for the chat-template value model (see value.h).
#include "chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "chat/template_error.h"
#include "chat/text.h"

namespace kvlm::chat {

const Value* DictData::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (py_equal(k, key)) return &v;
  return nullptr;
}

Value* DictData::find(const Value& key) {
  for (auto& [k, v] : items)
    if (py_equal(k, key)) return &v;
  return nullptr;
}

void DictData::set(Value key, Value value) {
  if (Value* slot = find(key)) {
    *slot = std::move(value);
    return;
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value::Value(std::string s) : kind_(Kind::String), ptr_(std::make_shared<std::string>(std::move(s))) {}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.ptr_ = std::make_shared<std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::List;
  v.ptr_ = std::make_shared<ListData>(ListData{std::move(items), tuple});
  return v;
}

Value Value::dict(DictData d) {
  Value v;
  v.kind_ = Kind::Dict;
  v.ptr_ = std::make_shared<DictData>(std::move(d));
  return v;
}

Value Value::make_namespace(DictData attrs) {
  Value v;
  v.kind_ = Kind::Namespace;
  v.ptr_ = std::make_shared<DictData>(std::move(attrs));
  return v;
}

Value Value::callable(std::string name, NativeFunction fn) {
  Value v;
  v.kind_ = Kind::Callable;
  v.ptr_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

double Value::as_float() const {
  switch (kind_) {
    case Kind::Bool: return scalar_.b ? 1.0 : 0.0;
    case Kind::Int: return static_cast<double>(scalar_.i);
    case Kind::Float: return scalar_.f;
    default: return 0.0;
  }
}

std::string Value::undefined_hint() const {
  return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : std::string("value is undefined");
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return scalar_.b;
    case Kind::Int: return scalar_.i != 0;
    case Kind::Float: return scalar_.f != 0.0;
    case Kind::String: return !as_string().empty();
    case Kind::List: return !as_list().items.empty();
    case Kind::Dict: return !as_dict().items.empty();
    case Kind::Namespace:
    case Kind::Callable: return true;
  }
  return false;
}

std::string py_float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  if (f == 0) return std::signbit(f) ? "-0.0" : "0.0";
  // Shortest round-trip digits, laid out by Python's repr rule: exponent form
  // when the decimal point sits more than 16 digits right or 4 left.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const auto epos = sci.find('e');
  const int exp10 = std::stoi(sci.substr(epos + 1));
  std::string digits = sci.substr(0, epos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int decpt = exp10 + 1;
  std::string out;
  if (decpt > 16 || decpt < -3) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int e = decpt - 1;
    out += e < 0 ? "e-" : "e+";
    const std::string es = std::to_string(std::abs(e));
    out += (es.size() < 2 ? "0" : "") + es;
  } else if (decpt <= 0) {
    out = "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
  } else if (static_cast<std::size_t>(decpt) >= digits.size()) {
    out = digits + std::string(static_cast<std::size_t>(decpt) - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, static_cast<std::size_t>(decpt)) + "." + digits.substr(static_cast<std::size_t>(decpt));
  }
  return sign + out;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::Undefined: return "";
    case Kind::String: return as_string();
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "None";
    case Kind::Bool: return scalar_.b ? "True" : "False";
    case Kind::Int: return std::to_string(scalar_.i);
    case Kind::Float: return py_float_repr(scalar_.f);
    case Kind::String: return py_repr_string(as_string());
    case Kind::List: {
      const auto& l = as_list();
      std::string out = l.tuple ? "(" : "[";
      for (std::size_t i = 0; i < l.items.size(); ++i) out += (i ? ", " : "") + l.items[i].repr();
      if (l.tuple && l.items.size() == 1) out += ",";
      return out + (l.tuple ? ")" : "]");
    }
    case Kind::Dict:
    case Kind::Namespace: {
      const auto& d = kind_ == Kind::Dict ? as_dict() : namespace_attrs();
      std::string out = "{";
      for (std::size_t i = 0; i < d.items.size(); ++i)
        out += (i ? ", " : "") + d.items[i].first.repr() + ": " + d.items[i].second.repr();
      out += "}";
      return kind_ == Kind::Dict ? out : "<Namespace " + out + ">";
    }
    case Kind::Callable: return "<function " + as_callable().name + ">";
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return as_list().tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
  }
  return "object";
}

bool py_equal(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::Undefined:
    case K::None: return true;
    case K::String: return a.as_string() == b.as_string();
    case K::List: {
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.tuple != y.tuple || x.items.size() != y.items.size()) return false;
      for (std::size_t i = 0; i < x.items.size(); ++i)
        if (!py_equal(x.items[i], y.items[i])) return false;
      return true;
    }
    case K::Dict: {
      const auto& x = a.as_dict();
      const auto& y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !py_equal(v, *other)) return false;
      }
      return true;
    }
    default: return a.same_object(b);
  }
}

bool py_less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 order is code point order
  if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (py_equal(x[i], y[i])) continue;
      return py_less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  if (a.is_undefined() || b.is_undefined())
    fail((a.is_undefined() ? a : b).undefined_hint());
  fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

namespace {

Value from_json_at(const nlohmann::ordered_json& j, int depth) {
  if (depth > 512) fail("template input nested too deeply");
  using T = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case T::null: return Value::none();
    case T::boolean: return Value(j.get<bool>());
    case T::number_integer: return Value(j.get<std::int64_t>());
    case T::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<std::int64_t>(u));
    }
    case T::number_float: return Value(j.get<double>());
    case T::string: return Value(j.get<std::string>());
    case T::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json_at(e, depth + 1));
      return Value::list(std::move(items));
    }
    case T::object: {
      DictData d;
      d.items.reserve(j.size());
      for (const auto& [k, v] : j.items()) d.items.emplace_back(Value(k), from_json_at(v, depth + 1));
      return Value::dict(std::move(d));
    }
    default: fail("unsupported JSON value (binary or discarded) in template input");
  }
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

namespace {

void json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  const auto hex4 = [&](unsigned v) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex[(v >> shift) & 15];
  };
  for (char32_t c : decode_utf8(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          hex4(c);
        } else if (ensure_ascii && c >= 0x7F) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            hex4(0xD800 + (v >> 10));
            hex4(0xDC00 + (v & 0x3FF));
          } else {
            hex4(c);
          }
        } else {
          append_utf8(out, c);
        }
    }
  }
  out += '"';
}

std::string json_key(const Value& k) {
  if (k.is_string()) return k.as_string();
  if (k.is_bool()) return k.as_bool() ? "true" : "false";
  if (k.is_int()) return std::to_string(k.as_int());
  if (k.is_float()) return py_float_repr(k.as_float());
  if (k.is_none()) return "null";
  fail("tojson: keys must be str, int, float, bool or None, not " + k.type_name());
}

void dump(std::string& out, const Value& v, const JsonFormat& f, int level, int depth) {
  if (depth > 512) fail("tojson: nesting too deep");
  using K = Value::Kind;
  switch (v.kind()) {
    case K::None: out += "null"; return;
    case K::Bool: out += v.as_bool() ? "true" : "false"; return;
    case K::Int: out += std::to_string(v.as_int()); return;
    case K::Float: {
      const double x = v.as_float();
      out += std::isnan(x) ? "NaN" : std::isinf(x) ? (x < 0 ? "-Infinity" : "Infinity") : py_float_repr(x);
      return;
    }
    case K::String: json_string(out, v.as_string(), f.ensure_ascii); return;
    case K::List:
    case K::Dict: {
      const bool is_list = v.is_list();
      const std::size_t n = is_list ? v.as_list().items.size() : v.as_dict().items.size();
      if (n == 0) {
        out += is_list ? "[]" : "{}";
        return;
      }
      out += is_list ? '[' : '{';
      std::string newline_indent;
      if (f.indent) {
        newline_indent = "\n";
        for (int i = 0; i <= level; ++i) newline_indent += *f.indent;
        out += newline_indent;
      }
      std::vector<std::pair<std::string, const Value*>> entries;
      if (!is_list) {
        for (const auto& [k, val] : v.as_dict().items) entries.emplace_back(json_key(k), &val);
        if (f.sort_keys)
          std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (i) out += f.item_separator + newline_indent;
        if (is_list) {
          dump(out, v.as_list().items[i], f, level + 1, depth + 1);
        } else {
          json_string(out, entries[i].first, f.ensure_ascii);
          out += f.key_separator;
          dump(out, *entries[i].second, f, level + 1, depth + 1);
        }
      }
      if (f.indent) {
        out += "\n";
        for (int i = 0; i < level; ++i) out += *f.indent;
      }
      out += is_list ? ']' : '}';
      return;
    }
    default: fail("Object of type " + v.type_name() + " is not JSON serializable");
  }
}

}  // namespace

std::string to_json(const Value& v, const JsonFormat& format) {
  std::string out;
  dump(out, v, format, 0, 0);
  return out;
}

std::vector<Value> bind_args(const Args& args, std::initializer_list<std::string_view> names, std::size_t required,
                             std::string_view function) {
  std::vector<Value> out(names.size());
  std::vector<bool> given(names.size(), false);
  if (args.positional.size() > names.size())
    fail(std::string(function) + "() takes at most " + std::to_string(names.size()) + " arguments (" +
         std::to_string(args.positional.size()) + " given)");
  for (std::size_t i = 0; i < args.positional.size(); ++i) {
    out[i] = args.positional[i];
    given[i] = true;
  }
  for (const auto& [key, value] : args.keywords) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) fail(std::string(function) + "() got an unexpected keyword argument '" + key + "'");
    const auto idx = static_cast<std::size_t>(it - names.begin());
    if (given[idx]) fail(std::string(function) + "() got multiple values for argument '" + key + "'");
    out[idx] = value;
    given[idx] = true;
  }
  for (std::size_t i = 0; i < required; ++i)
    if (!given[i])
      fail(std::string(function) + "() missing required argument '" + std::string(*(names.begin() + i)) + "'");
  return out;
}

}  // namespace kvlm::chat
