// Jinja2's built-in filters and tests (jinja2/filters.py, jinja2/tests.py),
// with transformers' tojson (json.dumps, ensure_ascii=False).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/template_error.h"
#include "chat/text.h"

namespace kvlm::chat {
namespace {

using I = Interpreter;

// Args beyond the first `skip` positionals, for filters that forward the rest.
Args rest_args(const Args& args, std::size_t skip) {
  Args out;
  for (std::size_t i = skip; i < args.positional.size(); ++i) out.positional.push_back(args.positional[i]);
  out.keywords = args.keywords;
  return out;
}

std::size_t py_len(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return count_code_points(v.as_string());
    case Value::Kind::List: return v.as_list().items.size();
    case Value::Kind::Dict: return v.as_dict().items.size();
    default: fail("object of type '" + v.type_name() + "' has no len()");
  }
}

// jinja2's make_attrgetter: "a.b.0" walks attributes, integer parts index.
Value attr_path(const Value& item, const Value& attribute) {
  if (!attribute.is_string()) return get_item(item, attribute);
  Value v = item;
  for (const std::string& part : py_split(attribute.as_string(), ".", -1)) {
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, numeric ? Value(static_cast<std::int64_t>(std::stoll(part))) : Value(part));
  }
  return v;
}

Value f_trim(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"chars"}, 0, "trim");
  if (a[0].is_undefined() || a[0].is_none()) return Value(py_strip(in.str(), true, true));
  return Value(py_strip_chars(in.str(), a[0].str(), true, true));
}

Value f_length(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "length");
  return Value(static_cast<std::int64_t>(py_len(in)));
}

Value f_tojson(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"ensure_ascii", "indent", "separators", "sort_keys"}, 0, "tojson");
  JsonFormat f;
  f.ensure_ascii = a[0].truthy();
  if (a[1].is_int() || a[1].is_bool()) {
    f.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, a[1].as_int())), ' ');
  } else if (a[1].is_string()) {
    f.indent = a[1].as_string();
  } else if (!a[1].is_undefined() && !a[1].is_none()) {
    fail("tojson: indent must be an int or a str");
  }
  if (f.indent) f.item_separator = ",";
  if (a[2].is_list() && a[2].as_list().items.size() == 2) {
    f.item_separator = a[2].as_list().items[0].str();
    f.key_separator = a[2].as_list().items[1].str();
  } else if (!a[2].is_undefined() && !a[2].is_none()) {
    fail("tojson: separators must be a (item, key) pair");
  }
  f.sort_keys = a[3].truthy();
  return Value(to_json(in, f));
}

template <std::string (*F)(std::string_view)>
Value f_case(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "case filter");
  return Value(F(in.str()));
}

// jinja2's title: capitalise after runs of whitespace, '-', '(', '{', '[', '<'.
std::string jinja_title(std::string_view s) {
  std::string out;
  bool word_start = true;
  for (char32_t c : decode_utf8(s)) {
    const bool sep = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      append_utf8(out, c);
      word_start = true;
    } else {
      append_utf8(out, word_start ? to_upper_cp(c) : to_lower_cp(c));
      word_start = false;
    }
  }
  return out;
}

Value f_default(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"default_value", "boolean"}, 0, "default");
  const Value fallback = a[0].is_undefined() ? Value("") : a[0];
  if (in.is_undefined() || (a[1].truthy() && !in.truthy())) return fallback;
  return in;
}

Value f_join(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"d", "attribute"}, 0, "join");
  const std::string sep = a[0].is_undefined() ? "" : a[0].str();
  std::string out;
  bool first = true;
  for (const Value& v : iterate(in)) {
    if (!first) out += sep;
    out += (a[1].is_undefined() || a[1].is_none() ? v : attr_path(v, a[1])).str();
    first = false;
  }
  return Value(std::move(out));
}

Value f_first(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "first");
  const auto items = iterate(in);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "last");
  const auto items = iterate(in);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_list(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "list");
  return Value::list(iterate(in));
}

Value f_string(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "string");
  return Value(in.str());
}

std::optional<std::int64_t> parse_int(std::string s, int base) {
  s = py_strip(s, true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, base);
  if (errno || *end) return std::nullopt;
  return v;
}

std::optional<double> parse_float(std::string s) {
  s = py_strip(s, true, true);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end) return std::nullopt;
  return v;
}

Value f_int(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"default", "base"}, 0, "int");
  const Value fallback = a[0].is_undefined() ? Value(0) : a[0];
  const int base = a[1].is_undefined() ? 10 : static_cast<int>(a[1].as_int());
  if (in.is_int() || in.is_bool()) return Value(in.as_int());
  if (in.is_float()) {
    if (!std::isfinite(in.as_float())) return fallback;
    return Value(static_cast<std::int64_t>(std::trunc(in.as_float())));
  }
  if (in.is_string()) {
    if (auto v = parse_int(in.as_string(), base)) return Value(*v);
    if (auto f = parse_float(in.as_string()); f && std::isfinite(*f)) return Value(static_cast<std::int64_t>(std::trunc(*f)));
  }
  return fallback;
}

Value f_float(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"default"}, 0, "float");
  const Value fallback = a[0].is_undefined() ? Value(0.0) : a[0];
  if (in.is_number()) return Value(in.as_float());
  if (in.is_string())
    if (auto f = parse_float(in.as_string())) return Value(*f);
  return fallback;
}

Value f_replace(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"old", "new", "count"}, 2, "replace");
  const long long count = a[2].is_undefined() || a[2].is_none() ? -1 : a[2].as_int();
  return Value(py_replace(in.str(), a[0].str(), a[1].str(), count));
}

Value f_items(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "items");
  if (in.is_undefined()) return Value::list({});
  if (!in.is_dict()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, v] : in.as_dict().items) out.push_back(Value::list({k, v}, true));
  return Value::list(std::move(out));
}

Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(py_lower(v.as_string())) : v;
}

Value f_dictsort(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"case_sensitive", "by", "reverse"}, 0, "dictsort");
  if (!in.is_dict()) fail("dictsort: expected a mapping, got " + in.type_name());
  const bool by_value = a[1].is_string() && a[1].as_string() == "value";
  if (!a[1].is_undefined() && !by_value && !(a[1].is_string() && a[1].as_string() == "key"))
    fail("You can only sort by either \"key\" or \"value\"");
  auto items = in.as_dict().items;
  const bool cs = a[0].truthy();
  std::stable_sort(items.begin(), items.end(), [&](const auto& x, const auto& y) {
    return py_less(sort_key(by_value ? x.second : x.first, cs), sort_key(by_value ? y.second : y.first, cs));
  });
  if (a[2].truthy()) std::reverse(items.begin(), items.end());
  std::vector<Value> out;
  for (auto& [k, v] : items) out.push_back(Value::list({k, v}, true));
  return Value::list(std::move(out));
}

// select / reject / selectattr / rejectattr share jinja2's select_or_reject.
Value select_or_reject(I& interp, const Value& in, Args& args, bool by_attribute, bool keep, const char* name) {
  std::size_t next = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) fail(std::string(name) + "() missing required argument 'attribute'");
    attribute = args.positional[next++];
  }
  std::string test;
  if (next < args.positional.size()) test = args.positional[next++].str();
  Args test_args = rest_args(args, next);
  std::vector<Value> out;
  for (const Value& item : iterate(in)) {
    const Value subject = by_attribute ? attr_path(item, attribute) : item;
    const bool ok = test.empty() ? subject.truthy() : interp.apply_test(test, subject, test_args);
    if (ok == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(I& i, const Value& in, Args& a) { return select_or_reject(i, in, a, false, true, "select"); }
Value f_reject(I& i, const Value& in, Args& a) { return select_or_reject(i, in, a, false, false, "reject"); }
Value f_selectattr(I& i, const Value& in, Args& a) { return select_or_reject(i, in, a, true, true, "selectattr"); }
Value f_rejectattr(I& i, const Value& in, Args& a) { return select_or_reject(i, in, a, true, false, "rejectattr"); }

Value f_map(I& interp, const Value& in, Args& args) {
  std::vector<Value> out;
  if (args.positional.empty()) {
    Value attribute, fallback;
    for (const auto& [k, v] : args.keywords) {
      if (k == "attribute") {
        attribute = v;
      } else if (k == "default") {
        fallback = v;
      } else {
        fail("map() got an unexpected keyword argument '" + k + "'");
      }
    }
    if (attribute.is_undefined()) fail("map() needs a filter name or attribute=");
    for (const Value& item : iterate(in)) {
      Value v = attr_path(item, attribute);
      out.push_back(v.is_undefined() && !fallback.is_undefined() ? fallback : v);
    }
    return Value::list(std::move(out));
  }
  const std::string filter = args.positional[0].str();
  Args filter_args = rest_args(args, 1);
  for (const Value& item : iterate(in)) out.push_back(interp.apply_filter(filter, item, filter_args));
  return Value::list(std::move(out));
}

Value f_safe(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "safe");
  return in;
}

Value f_escape(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "escape");
  std::string out;
  for (char c : in.str()) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value(std::move(out));
}

Value f_unique(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"case_sensitive", "attribute"}, 0, "unique");
  std::vector<Value> out, seen;
  for (const Value& item : iterate(in)) {
    const Value key = sort_key(a[1].is_undefined() ? item : attr_path(item, a[1]), a[0].truthy());
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, key); })) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_reverse(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "reverse");
  if (in.is_string()) {
    auto cps = decode_utf8(in.as_string());
    std::reverse(cps.begin(), cps.end());
    return Value(encode_utf8(cps, 0, cps.size()));
  }
  auto items = iterate(in);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_sort(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"reverse", "case_sensitive", "attribute"}, 0, "sort");
  auto items = iterate(in);
  const bool cs = a[1].truthy();
  auto key = [&](const Value& v) { return sort_key(a[2].is_undefined() || a[2].is_none() ? v : attr_path(v, a[2]), cs); };
  const bool rev = a[0].truthy();
  std::stable_sort(items.begin(), items.end(),
                   [&](const Value& x, const Value& y) { return rev ? py_less(key(y), key(x)) : py_less(key(x), key(y)); });
  return Value::list(std::move(items));
}

Value f_abs(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "abs");
  if (in.is_int() || in.is_bool()) return Value(static_cast<std::int64_t>(std::llabs(in.as_int())));
  if (in.is_float()) return Value(std::fabs(in.as_float()));
  fail("bad operand type for abs(): '" + in.type_name() + "'");
}

Value f_round(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"precision", "method"}, 0, "round");
  if (!in.is_number()) fail("round: expected a number, got " + in.type_name());
  const double scale = std::pow(10.0, static_cast<double>(a[0].is_undefined() ? 0 : a[0].as_int()));
  const std::string method = a[1].is_undefined() ? "common" : a[1].str();
  const double x = in.as_float() * scale;
  double r;
  if (method == "common") {
    r = std::nearbyint(x);  // Python's round(): ties to even
  } else if (method == "ceil") {
    r = std::ceil(x);
  } else if (method == "floor") {
    r = std::floor(x);
  } else {
    fail("method must be 'common', 'ceil' or 'floor'");
  }
  return Value(r / scale);
}

Value f_sum(I& interp, const Value& in, Args& args) {
  const auto a = bind_args(args, {"attribute", "start"}, 0, "sum");
  Value total = a[1].is_undefined() ? Value(0) : a[1];
  for (const Value& item : iterate(in))
    total = binary_operator("+", total, a[0].is_undefined() ? item : attr_path(item, a[0]), std::size_t{64} << 20);
  (void)interp;
  return total;
}

template <bool Max>
Value f_minmax(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"case_sensitive", "attribute"}, 0, Max ? "max" : "min");
  const auto items = iterate(in);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  auto key = [&](const Value& v) { return sort_key(a[1].is_undefined() ? v : attr_path(v, a[1]), a[0].truthy()); };
  Value best = items[0];
  for (const Value& v : items)
    if (Max ? py_less(key(best), key(v)) : py_less(key(v), key(best))) best = v;
  return best;
}

Value f_indent(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"width", "first", "blank"}, 0, "indent");
  const std::string pad = a[0].is_string() ? a[0].as_string()
                                           : std::string(static_cast<std::size_t>(a[0].is_undefined() ? 4 : std::max<std::int64_t>(0, a[0].as_int())), ' ');
  const std::string s = in.str() + "\n";
  auto lines = py_splitlines(s, false);
  std::string rv;
  if (a[2].truthy()) {
    for (std::size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + pad : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (std::size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : pad) + lines[i];
  }
  if (a[1].truthy()) rv = pad + rv;
  return Value(std::move(rv));
}

Value f_attr(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"name"}, 1, "attr");
  if (in.is_dict()) {
    const Value v = get_item(in, a[0]);
    if (v.is_callable()) return v;  // dict methods only: attr() does not read keys
    return Value::undefined("'dict object' has no attribute '" + a[0].str() + "'");
  }
  return get_attribute(in, a[0].str());
}

Value f_center(I&, const Value& in, Args& args) {
  const auto a = bind_args(args, {"width"}, 0, "center");
  const std::string s = in.str();
  const std::size_t width = static_cast<std::size_t>(a[0].is_undefined() ? 80 : std::max<std::int64_t>(0, a[0].as_int()));
  const std::size_t n = count_code_points(s);
  if (width <= n) return Value(s);
  const std::size_t marg = width - n;
  const std::size_t left = marg / 2 + (marg & width & 1);
  return Value(std::string(left, ' ') + s + std::string(marg - left, ' '));
}

Value f_wordcount(I&, const Value& in, Args& args) {
  bind_args(args, {}, 0, "wordcount");
  std::int64_t n = 0;
  bool in_word = false;
  for (char32_t c : decode_utf8(in.str())) {
    const bool w = c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !is_py_space(c));
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

struct FilterEntry {
  const char* name;
  FilterFunction fn;
};

const FilterEntry kFilters[] = {
    {"trim", f_trim},         {"length", f_length},
    {"count", f_length},      {"tojson", f_tojson},
    {"upper", f_case<py_upper>}, {"lower", f_case<py_lower>},
    {"capitalize", f_case<py_capitalize>}, {"title", f_case<jinja_title>},
    {"default", f_default},   {"d", f_default},
    {"join", f_join},         {"first", f_first},
    {"last", f_last},         {"list", f_list},
    {"string", f_string},     {"int", f_int},
    {"float", f_float},       {"replace", f_replace},
    {"items", f_items},       {"dictsort", f_dictsort},
    {"select", f_select},     {"reject", f_reject},
    {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr},
    {"map", f_map},           {"safe", f_safe},
    {"escape", f_escape},     {"e", f_escape},
    {"forceescape", f_escape}, {"unique", f_unique},
    {"reverse", f_reverse},   {"sort", f_sort},
    {"abs", f_abs},           {"round", f_round},
    {"sum", f_sum},           {"min", f_minmax<false>},
    {"max", f_minmax<true>},  {"indent", f_indent},
    {"attr", f_attr},         {"center", f_center},
    {"wordcount", f_wordcount},
};

// ------------------------------------------------------------------- tests

Value one_arg(const Args& args, const char* name) {
  const auto a = bind_args(args, {"other"}, 1, name);
  return a[0];
}

bool t_defined(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "defined"), !v.is_undefined(); }
bool t_undefined(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "undefined"), v.is_undefined(); }
bool t_none(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "none"), v.is_none(); }
bool t_boolean(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "boolean"), v.is_bool(); }
bool t_false(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "false"), v.is_bool() && !v.as_bool(); }
bool t_true(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "true"), v.is_bool() && v.as_bool(); }
bool t_integer(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "integer"), v.is_int(); }
bool t_float(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "float"), v.is_float(); }
bool t_number(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "number"), v.is_number(); }
bool t_string(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "string"), v.is_string(); }
bool t_mapping(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "mapping"), v.is_dict(); }
bool t_iterable(I&, const Value& v, Args& a) {
  bind_args(a, {}, 0, "iterable");
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool t_sequence(I&, const Value& v, Args& a) {
  bind_args(a, {}, 0, "sequence");
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool t_callable(I&, const Value& v, Args& a) { return bind_args(a, {}, 0, "callable"), v.is_callable(); }
bool t_sameas(I&, const Value& v, Args& a) {
  const Value o = one_arg(a, "sameas");
  // Python's `is`: None, booleans and (small, cached) ints are singletons.
  if (v.is_none() || v.is_bool() || v.is_undefined() || v.is_int()) return py_equal(v, o) && v.kind() == o.kind();
  return v.same_object(o) && (v.is_list() || v.is_dict() || v.is_namespace() || v.is_callable());
}
bool t_escaped(I&, const Value&, Args& a) { return bind_args(a, {}, 0, "escaped"), false; }
bool t_in(I&, const Value& v, Args& a) { return contains(one_arg(a, "in"), v); }
bool t_eq(I&, const Value& v, Args& a) { return py_equal(v, one_arg(a, "eq")); }
bool t_ne(I&, const Value& v, Args& a) { return !py_equal(v, one_arg(a, "ne")); }
bool t_lt(I&, const Value& v, Args& a) { return py_less(v, one_arg(a, "lt")); }
bool t_le(I&, const Value& v, Args& a) {
  const Value o = one_arg(a, "le");
  return py_less(v, o) || py_equal(v, o);
}
bool t_gt(I&, const Value& v, Args& a) { return py_less(one_arg(a, "gt"), v); }
bool t_ge(I&, const Value& v, Args& a) {
  const Value o = one_arg(a, "ge");
  return py_less(o, v) || py_equal(v, o);
}
bool t_even(I&, const Value& v, Args& a) {
  bind_args(a, {}, 0, "even");
  return py_equal(binary_operator("%", v, Value(2), 0), Value(0));
}
bool t_odd(I&, const Value& v, Args& a) {
  bind_args(a, {}, 0, "odd");
  return py_equal(binary_operator("%", v, Value(2), 0), Value(1));
}
bool t_divisibleby(I&, const Value& v, Args& a) {
  return py_equal(binary_operator("%", v, one_arg(a, "divisibleby"), 0), Value(0));
}
bool t_lower(I&, const Value& v, Args& a) {
  bind_args(a, {}, 0, "lower");
  const std::string s = v.str();
  return py_lower(s) == s && py_upper(s) != s;
}
bool t_upper(I&, const Value& v, Args& a) {
  bind_args(a, {}, 0, "upper");
  const std::string s = v.str();
  return py_upper(s) == s && py_lower(s) != s;
}
bool t_filter(I&, const Value& v, Args& a) {
  return bind_args(a, {}, 0, "filter"), v.is_string() && find_filter(v.as_string()) != nullptr;
}
bool t_test(I&, const Value& v, Args& a) {
  return bind_args(a, {}, 0, "test"), v.is_string() && find_test(v.as_string()) != nullptr;
}

struct TestEntry {
  const char* name;
  TestFunction fn;
};

const TestEntry kTests[] = {
    {"defined", t_defined},   {"undefined", t_undefined}, {"none", t_none},
    {"boolean", t_boolean},   {"false", t_false},         {"true", t_true},
    {"integer", t_integer},   {"float", t_float},         {"number", t_number},
    {"string", t_string},     {"mapping", t_mapping},     {"iterable", t_iterable},
    {"sequence", t_sequence}, {"callable", t_callable},   {"sameas", t_sameas},
    {"escaped", t_escaped},   {"in", t_in},               {"eq", t_eq},
    {"equalto", t_eq},        {"==", t_eq},               {"ne", t_ne},
    {"!=", t_ne},             {"lt", t_lt},               {"lessthan", t_lt},
    {"<", t_lt},              {"le", t_le},               {"<=", t_le},
    {"gt", t_gt},             {"greaterthan", t_gt},      {">", t_gt},
    {"ge", t_ge},             {">=", t_ge},               {"even", t_even},
    {"odd", t_odd},           {"divisibleby", t_divisibleby}, {"lower", t_lower},
    {"upper", t_upper},       {"filter", t_filter},       {"test", t_test},
};

}  // namespace

FilterFunction find_filter(std::string_view name) {
  for (const auto& f : kFilters)
    if (name == f.name) return f.fn;
  return nullptr;
}

TestFunction find_test(std::string_view name) {
  for (const auto& t : kTests)
    if (name == t.name) return t.fn;
  return nullptr;
}

}  // namespace kvlm::chat
