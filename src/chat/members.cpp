// Attribute, item and slice access and Python methods of str / dict / list,
// as jinja2.sandbox.ImmutableSandboxedEnvironment exposes them.
#include <algorithm>
#include <set>

#include "chat/builtins.h"
#include "chat/template_error.h"
#include "chat/text.h"

namespace kvlm::chat {
namespace {

using Method = Value (*)(const Value& self, Args& args);

std::string object_type(const Value& v) {
  if (v.is_none()) return "None";
  return v.type_name() + " object";
}

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(std::string("'").append(object_type(obj)).append("' has no attribute '").append(name).append("'"));
}

Value bind(const Value& self, const std::string& name, Method m) {
  return Value::callable(self.type_name() + "." + name, [self, m](Interpreter&, Args& args) { return m(self, args); });
}

std::string opt_str(const Value& v, const char* what) {
  if (!v.is_string()) fail(std::string(what) + " must be str, not " + v.type_name());
  return v.as_string();
}

long long opt_int(const Value& v, long long fallback) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (!v.is_int() && !v.is_bool()) fail("an integer is required, not " + v.type_name());
  return v.as_int();
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value::list(std::move(out));
}

// ------------------------------------------------------------- str methods

template <bool L, bool R>
Value str_strip(const Value& self, Args& args) {
  const auto a = bind_args(args, {"chars"}, 0, "strip");
  if (a[0].is_undefined() || a[0].is_none()) return Value(py_strip(self.as_string(), L, R));
  return Value(py_strip_chars(self.as_string(), opt_str(a[0], "strip arg"), L, R));
}

Value str_split(const Value& self, Args& args) {
  const auto a = bind_args(args, {"sep", "maxsplit"}, 0, "split");
  const long long maxsplit = opt_int(a[1], -1);
  if (a[0].is_undefined() || a[0].is_none()) return string_list(py_split_whitespace(self.as_string(), maxsplit));
  const std::string sep = opt_str(a[0], "separator");
  if (sep.empty()) fail("empty separator");
  return string_list(py_split(self.as_string(), sep, maxsplit));
}

Value str_rsplit(const Value& self, Args& args) {
  const auto a = bind_args(args, {"sep", "maxsplit"}, 0, "rsplit");
  const long long maxsplit = opt_int(a[1], -1);
  const std::string& s = self.as_string();
  if (maxsplit < 0) return str_split(self, args);
  if (a[0].is_undefined() || a[0].is_none()) fail("str.rsplit with maxsplit and no separator is not supported");
  const std::string sep = opt_str(a[0], "separator");
  if (sep.empty()) fail("empty separator");
  std::vector<std::string> parts;
  std::size_t end = s.size();
  while (static_cast<long long>(parts.size()) < maxsplit) {
    if (end < sep.size()) break;
    const std::size_t hit = s.rfind(sep, end - sep.size());
    if (hit == std::string::npos) break;
    parts.push_back(s.substr(hit + sep.size(), end - hit - sep.size()));
    end = hit;
  }
  parts.push_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return string_list(std::move(parts));
}

Value str_splitlines(const Value& self, Args& args) {
  const auto a = bind_args(args, {"keepends"}, 0, "splitlines");
  return string_list(py_splitlines(self.as_string(), a[0].truthy()));
}

template <bool Start>
Value str_affix(const Value& self, Args& args) {
  const auto a = bind_args(args, {"prefix", "start", "end"}, 1, Start ? "startswith" : "endswith");
  const auto cps = decode_utf8(self.as_string());
  const auto n = static_cast<long long>(cps.size());
  auto clamp = [n](long long i) { return i < 0 ? std::max(0LL, i + n) : std::min(i, n); };
  const long long b = clamp(opt_int(a[1], 0));
  const long long e = clamp(opt_int(a[2], n));
  const std::string s = b <= e ? encode_utf8(cps, static_cast<std::size_t>(b), static_cast<std::size_t>(e)) : "";
  std::vector<Value> candidates;
  if (a[0].is_list() && a[0].as_list().tuple) {
    candidates = a[0].as_list().items;
  } else {
    candidates.push_back(a[0]);
  }
  if (b > e) return Value(false);
  for (const Value& c : candidates) {
    const std::string p = opt_str(c, Start ? "startswith arg" : "endswith arg");
    if (p.size() > s.size()) continue;
    if (Start ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0) return Value(true);
  }
  return Value(false);
}

template <std::string (*F)(std::string_view)>
Value str_case(const Value& self, Args& args) {
  bind_args(args, {}, 0, "str method");
  return Value(F(self.as_string()));
}

std::string swapcase(std::string_view s) {
  std::string out;
  for (char32_t c : decode_utf8(s)) {
    const char32_t u = to_upper_cp(c);
    append_utf8(out, u != c ? u : to_lower_cp(c));
  }
  return out;
}

Value str_replace(const Value& self, Args& args) {
  const auto a = bind_args(args, {"old", "new", "count"}, 2, "replace");
  return Value(py_replace(self.as_string(), opt_str(a[0], "replace arg"), opt_str(a[1], "replace arg"), opt_int(a[2], -1)));
}

template <bool Reverse>
Value str_find(const Value& self, Args& args) {
  const auto a = bind_args(args, {"sub"}, 1, Reverse ? "rfind" : "find");
  const std::string& s = self.as_string();
  const std::string sub = opt_str(a[0], "find arg");
  const std::size_t hit = Reverse ? s.rfind(sub) : s.find(sub);
  if (hit == std::string::npos) return Value(-1);
  return Value(static_cast<std::int64_t>(count_code_points(std::string_view(s).substr(0, hit))));
}

Value str_count(const Value& self, Args& args) {
  const auto a = bind_args(args, {"sub"}, 1, "count");
  const std::string& s = self.as_string();
  const std::string sub = opt_str(a[0], "count arg");
  if (sub.empty()) return Value(static_cast<std::int64_t>(count_code_points(s) + 1));
  std::int64_t n = 0;
  for (std::size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return Value(n);
}

Value str_join(const Value& self, Args& args) {
  const auto a = bind_args(args, {"iterable"}, 1, "join");
  std::string out;
  bool first = true;
  for (const Value& v : iterate(a[0])) {
    if (!v.is_string()) fail("sequence item: expected str instance, " + v.type_name() + " found");
    if (!first) out += self.as_string();
    out += v.as_string();
    first = false;
  }
  return Value(std::move(out));
}

template <bool (*Pred)(char32_t)>
Value str_is(const Value& self, Args& args) {
  bind_args(args, {}, 0, "str method");
  const auto cps = decode_utf8(self.as_string());
  if (cps.empty()) return Value(false);
  return Value(std::all_of(cps.begin(), cps.end(), Pred));
}

bool is_digit_cp(char32_t c) { return c >= '0' && c <= '9'; }
bool is_alpha_cp(char32_t c) { return (c < 0x80 && std::isalpha(static_cast<int>(c))) || (c >= 0x80 && is_cased_letter(c)); }
bool is_alnum_cp(char32_t c) { return is_digit_cp(c) || is_alpha_cp(c); }

template <bool Upper>
Value str_is_case(const Value& self, Args& args) {
  bind_args(args, {}, 0, Upper ? "isupper" : "islower");
  bool cased = false;
  for (char32_t c : decode_utf8(self.as_string())) {
    if (!is_cased_letter(c)) continue;
    cased = true;
    if (Upper ? to_lower_cp(c) == c && to_upper_cp(c) != c : to_upper_cp(c) == c && to_lower_cp(c) != c)
      return Value(false);
  }
  return Value(cased);
}

// str.format with automatic or explicit field numbers and keyword names,
// converted with str(); format specs and conversions are refused.
Value str_format(const Value& self, Args& args) {
  const std::string& f = self.as_string();
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '{' && i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < f.size() && f[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      const std::size_t close = f.find('}', i);
      if (close == std::string::npos) fail("Single '{' encountered in format string");
      const std::string field = f.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos) fail("str.format: format specs are not supported");
      const Value* v = nullptr;
      if (field.empty() || std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
        const std::size_t idx = field.empty() ? auto_index++ : std::stoul(field);
        if (idx >= args.positional.size()) fail("Replacement index " + std::to_string(idx) + " out of range");
        v = &args.positional[idx];
      } else {
        for (const auto& [k, val] : args.keywords)
          if (k == field) v = &val;
        if (!v) fail("str.format: missing keyword '" + field + "'");
      }
      out += v->str();
      i = close;
    } else if (c == '}') {
      fail("Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return Value(std::move(out));
}

Method string_method(const std::string& name) {
  static const std::vector<std::pair<std::string, Method>> table = {
      {"strip", str_strip<true, true>},
      {"lstrip", str_strip<true, false>},
      {"rstrip", str_strip<false, true>},
      {"split", str_split},
      {"rsplit", str_rsplit},
      {"splitlines", str_splitlines},
      {"startswith", str_affix<true>},
      {"endswith", str_affix<false>},
      {"upper", str_case<py_upper>},
      {"lower", str_case<py_lower>},
      {"title", str_case<py_title>},
      {"capitalize", str_case<py_capitalize>},
      {"swapcase", str_case<swapcase>},
      {"replace", str_replace},
      {"find", str_find<false>},
      {"rfind", str_find<true>},
      {"count", str_count},
      {"join", str_join},
      {"isdigit", str_is<is_digit_cp>},
      {"isnumeric", str_is<is_digit_cp>},
      {"isdecimal", str_is<is_digit_cp>},
      {"isalpha", str_is<is_alpha_cp>},
      {"isalnum", str_is<is_alnum_cp>},
      {"isspace", str_is<is_py_space>},
      {"isupper", str_is_case<true>},
      {"islower", str_is_case<false>},
      {"format", str_format},
  };
  for (const auto& [n, m] : table)
    if (n == name) return m;
  return nullptr;
}

// ------------------------------------------------------------ dict methods

Value dict_get(const Value& self, Args& args) {
  const auto a = bind_args(args, {"key", "default"}, 1, "get");
  const Value* v = self.as_dict().find(a[0]);
  if (v) return *v;
  return a[1].is_undefined() ? Value::none() : a[1];
}

Value dict_items(const Value& self, Args& args) {
  bind_args(args, {}, 0, "items");
  std::vector<Value> out;
  for (const auto& [k, v] : self.as_dict().items) out.push_back(Value::list({k, v}, true));
  return Value::list(std::move(out));
}

Value dict_keys(const Value& self, Args& args) {
  bind_args(args, {}, 0, "keys");
  std::vector<Value> out;
  for (const auto& kv : self.as_dict().items) out.push_back(kv.first);
  return Value::list(std::move(out));
}

Value dict_values(const Value& self, Args& args) {
  bind_args(args, {}, 0, "values");
  std::vector<Value> out;
  for (const auto& kv : self.as_dict().items) out.push_back(kv.second);
  return Value::list(std::move(out));
}

Value dict_copy(const Value& self, Args& args) {
  bind_args(args, {}, 0, "copy");
  return self;
}

Method dict_method(const std::string& name) {
  if (name == "get") return dict_get;
  if (name == "items") return dict_items;
  if (name == "keys") return dict_keys;
  if (name == "values") return dict_values;
  if (name == "copy") return dict_copy;
  return nullptr;
}

// ------------------------------------------------------------ list methods

Value list_index(const Value& self, Args& args) {
  const auto a = bind_args(args, {"value"}, 1, "index");
  const auto& items = self.as_list().items;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (py_equal(items[i], a[0])) return Value(static_cast<std::int64_t>(i));
  fail(a[0].repr() + " is not in list");
}

Value list_count(const Value& self, Args& args) {
  const auto a = bind_args(args, {"value"}, 1, "count");
  std::int64_t n = 0;
  for (const Value& v : self.as_list().items) n += py_equal(v, a[0]) ? 1 : 0;
  return Value(n);
}

bool is_mutating_method(const Value& obj, const std::string& name) {
  static const std::set<std::string> list_mut = {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"};
  static const std::set<std::string> dict_mut = {"clear", "pop", "popitem", "setdefault", "update"};
  return (obj.is_list() && !obj.as_list().tuple && list_mut.count(name)) || (obj.is_dict() && dict_mut.count(name));
}

Value member(const Value& obj, const std::string& name, bool* found) {
  *found = true;
  if (!name.empty() && name[0] == '_') {
    *found = false;
    return Value();
  }
  if (is_mutating_method(obj, name))
    return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
  if (obj.is_string())
    if (Method m = string_method(name)) return bind(obj, name, m);
  if (obj.is_dict())
    if (Method m = dict_method(name)) return bind(obj, name, m);
  if (obj.is_list()) {
    if (name == "index") return bind(obj, name, list_index);
    if (name == "count") return bind(obj, name, list_count);
  }
  if (obj.is_namespace()) {
    if (const Value* v = obj.namespace_attrs().find(Value(name))) return *v;
  }
  *found = false;
  return Value();
}

}  // namespace

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail(obj.undefined_hint());
  bool found = false;
  Value v = member(obj, name, &found);
  if (found) return v;
  if (obj.is_dict())
    if (const Value* item = obj.as_dict().find(Value(name))) return *item;
  return no_attribute(obj, name);
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: return v.as_list().items;
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& kv : v.as_dict().items) keys.push_back(kv.first);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      for (char32_t c : decode_utf8(v.as_string())) {
        std::string s;
        append_utf8(s, c);
        chars.emplace_back(std::move(s));
      }
      return chars;
    }
    default: fail("'" + v.type_name() + "' object is not iterable");
  }
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail(obj.undefined_hint());
  if (obj.is_dict()) {
    if (key.is_list() && !key.as_list().tuple) fail("unhashable type: 'list'");
    if (key.is_dict()) fail("unhashable type: 'dict'");
    if (const Value* v = obj.as_dict().find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const bool is_str = obj.is_string();
    std::vector<char32_t> cps;
    if (is_str) cps = decode_utf8(obj.as_string());
    const auto n = static_cast<std::int64_t>(is_str ? cps.size() : obj.as_list().items.size());
    std::int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i >= 0 && i < n) {
      if (!is_str) return obj.as_list().items[static_cast<std::size_t>(i)];
      std::string s;
      append_utf8(s, cps[static_cast<std::size_t>(i)]);
      return Value(std::move(s));
    }
  }
  if (key.is_string()) {
    bool found = false;
    Value v = member(obj, key.as_string(), &found);
    if (found) return v;
    return no_attribute(obj, key.as_string());
  }
  return Value::undefined(std::string("'").append(object_type(obj)).append("' has no element ").append(key.repr()));
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail(obj.undefined_hint());
  // Jinja2 compiles a slice to a plain Python subscript (not environment.getitem),
  // so bad bounds and unsliceable objects are TypeErrors, not Undefined.
  auto index = [](const Value& v) -> std::optional<std::int64_t> {
    if (v.is_none()) return std::nullopt;  // also what an omitted bound evaluates to
    if (!v.is_int() && !v.is_bool()) fail("slice indices must be integers or None or have an __index__ method");
    return v.as_int();
  };
  if (obj.is_dict()) fail("unhashable type: 'slice'");
  if (!obj.is_list() && !obj.is_string()) fail("'" + obj.type_name() + "' object is not subscriptable");
  const auto o_start = index(start), o_stop = index(stop), o_step = index(step);
  const std::int64_t st = o_step.value_or(1);
  if (st == 0) fail("slice step cannot be zero");
  std::vector<char32_t> cps;
  if (obj.is_string()) cps = decode_utf8(obj.as_string());
  const auto n = static_cast<std::int64_t>(obj.is_string() ? cps.size() : obj.as_list().items.size());
  auto adjust = [&](std::optional<std::int64_t> v, std::int64_t fallback) {
    if (!v) return fallback;
    std::int64_t i = *v;
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  const std::int64_t b = adjust(o_start, st < 0 ? n - 1 : 0);
  const std::int64_t e = adjust(o_stop, st < 0 ? -1 : n);
  std::vector<std::size_t> picks;
  for (std::int64_t i = b; st > 0 ? i < e : i > e; i += st) picks.push_back(static_cast<std::size_t>(i));
  if (obj.is_string()) {
    std::string s;
    for (std::size_t i : picks) append_utf8(s, cps[i]);
    return Value(std::move(s));
  }
  std::vector<Value> items;
  for (std::size_t i : picks) items.push_back(obj.as_list().items[i]);
  return Value::list(std::move(items), obj.as_list().tuple);
}

}  // namespace kvlm::chat
