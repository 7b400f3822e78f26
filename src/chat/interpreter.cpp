// Template execution (see interpreter.h).
#include "chat/interpreter.h"

#include <cmath>
#include <limits>

#include "chat/builtins.h"
#include "chat/template_error.h"
#include "chat/text.h"

namespace kvlm::chat {
namespace {

template <class Op>
Value checked(Op op, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (op(a, b, &r)) fail("integer overflow");
  return Value(r);
}

bool add_overflow(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub_overflow(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul_overflow(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_mul_overflow(a, b, r); }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value repeat(const Value& seq, std::int64_t n, std::size_t max_bytes) {
  if (n <= 0) return seq.is_string() ? Value("") : Value::list({}, seq.as_list().tuple);
  const std::size_t unit = seq.is_string() ? seq.as_string().size() : seq.as_list().items.size() * 16;
  if (unit != 0 && static_cast<std::size_t>(n) > max_bytes / unit) fail("repetition result too large");
  if (seq.is_string()) {
    std::string out;
    for (std::int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (std::int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().items.begin(), seq.as_list().items.end());
  return Value::list(std::move(out), seq.as_list().tuple);
}

Value make_range(Args& args) {
  const auto a = bind_args(args, {"start", "stop", "step"}, 1, "range");
  for (const Value& v : a)
    if (!v.is_undefined() && !v.is_int() && !v.is_bool()) fail("range() integer argument expected, got " + v.type_name());
  std::int64_t start = 0, stop, step = 1;
  if (a[1].is_undefined()) {
    stop = a[0].as_int();
  } else {
    start = a[0].as_int();
    stop = a[1].as_int();
    if (!a[2].is_undefined()) step = a[2].as_int();
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (out.size() >= 100000)  // jinja2.sandbox.MAX_RANGE
      fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    out.emplace_back(i);
  }
  return Value::list(std::move(out));
}

}  // namespace

Value binary_operator(const std::string& op, const Value& a, const Value& b, std::size_t max_bytes) {
  if (a.is_undefined()) fail(a.undefined_hint());
  if (b.is_undefined()) fail(b.undefined_hint());
  const bool ints = (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
  const bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return checked(add_overflow, a.as_int(), b.as_int());
    if (nums) return Value(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > max_bytes) fail("string too large");
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple) {
      std::vector<Value> out = a.as_list().items;
      out.insert(out.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::list(std::move(out), a.as_list().tuple);
    }
    if (a.is_string()) fail("can only concatenate str (not \"" + b.type_name() + "\") to str");
    if (a.is_list()) fail("can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " + a.type_name());
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (ints) return checked(sub_overflow, a.as_int(), b.as_int());
    if (nums) return Value(a.as_float() - b.as_float());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (ints) return checked(mul_overflow, a.as_int(), b.as_int());
    if (nums) return Value(a.as_float() * b.as_float());
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int(), max_bytes);
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int(), max_bytes);
    fail("can't multiply sequence by non-int of type '" + b.type_name() + "'");
  }
  if (!nums) {
    if (op == "%" && a.is_string()) fail("printf-style string formatting is not supported");
    unsupported(op, a, b);
  }
  if (op == "/") {
    if (b.as_float() == 0) fail("division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (op == "//" || op == "%") {
    if (b.as_float() == 0) fail(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (ints) {
      const std::int64_t x = a.as_int(), y = b.as_int();
      if (x == std::numeric_limits<std::int64_t>::min() && y == -1) fail("integer overflow");
      std::int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value(op == "//" ? q : m);
    }
    // CPython's float_divmod.
    const double x = a.as_float(), y = b.as_float();
    double mod = std::fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0) {
      if ((y < 0) != (mod < 0)) {
        mod += y;
        div -= 1.0;
      }
    } else {
      mod = std::copysign(0.0, y);
    }
    if (op == "%") return Value(mod);
    double floordiv = std::copysign(0.0, x / y);
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
    }
    return Value(floordiv);
  }
  if (op == "**") {
    if (ints && b.as_int() >= 0) {
      std::int64_t result = 1, base = a.as_int();
      for (std::int64_t e = b.as_int(); e > 0; --e)
        if (__builtin_mul_overflow(result, base, &result)) fail("integer overflow");
      return Value(result);
    }
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  fail("unknown operator " + op);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined: return false;
    case Value::Kind::String:
      if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::List:
      for (const Value& v : container.as_list().items)
        if (py_equal(v, item)) return true;
      return false;
    case Value::Kind::Dict: return container.as_dict().find(item) != nullptr;
    default: fail("argument of type '" + container.type_name() + "' is not iterable");
  }
}

Interpreter::Interpreter(const Template& tmpl, DictData vars, std::tm today, RenderLimits limits)
    : tmpl_(tmpl), vars_(std::move(vars)), today_(today), limits_(limits) {
  globals_["range"] = Value::callable("range", [](Interpreter&, Args& a) { return make_range(a); });
  globals_["namespace"] = Value::callable("namespace", [](Interpreter&, Args& a) {
    DictData attrs;
    for (const Value& p : a.positional) {
      if (!p.is_dict()) fail("namespace() positional argument must be a mapping");
      for (const auto& [k, v] : p.as_dict().items) attrs.set(k, v);
    }
    for (const auto& [k, v] : a.keywords) attrs.set(Value(k), v);
    return Value::make_namespace(std::move(attrs));
  });
  globals_["dict"] = Value::callable("dict", [](Interpreter&, Args& a) {
    DictData d;
    for (const Value& p : a.positional) {
      if (!p.is_dict()) fail("dict() positional argument must be a mapping");
      for (const auto& [k, v] : p.as_dict().items) d.set(k, v);
    }
    for (const auto& [k, v] : a.keywords) d.set(Value(k), v);
    return Value::dict(std::move(d));
  });
  globals_["raise_exception"] = Value::callable("raise_exception", [](Interpreter&, Args& a) -> Value {
    const auto args = bind_args(a, {"message"}, 1, "raise_exception");
    std::string msg = args[0].str();
    for (char& c : msg)
      if (c == '\n' || c == '\r') c = ' ';
    fail("raise_exception: " + msg);
  });
  globals_["strftime_now"] = Value::callable("strftime_now", [](Interpreter& in, Args& a) {
    const auto args = bind_args(a, {"format"}, 1, "strftime_now");
    const std::string fmt = args[0].str();
    if (fmt.empty()) return Value("");
    std::string buf(256 + fmt.size() * 16, '\0');
    const std::size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &in.today());
    buf.resize(n);
    return Value(std::move(buf));
  });
}

std::string Interpreter::render() {
  auto root = std::make_shared<Scope>();
  exec(tmpl_.body, root);
  return std::move(out_);
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps) fail("template ran too long (more than " + std::to_string(limits_.max_steps) + " steps)");
}

void Interpreter::check_size(std::size_t bytes) const {
  if (bytes > limits_.max_output_bytes) fail("template output too large");
}

void Interpreter::emit(const std::string& s) {
  check_size(out_.size() + s.size());
  out_ += s;
}

Value Interpreter::lookup(const std::string& name, const ScopePtr& scope) const {
  for (const Scope* s = scope.get(); s; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  if (const Value* v = vars_.find(Value(name))) return *v;
  const auto g = globals_.find(name);
  if (g != globals_.end()) return g->second;
  return Value::undefined("'" + name + "' is undefined");
}

Interpreter::Flow Interpreter::exec(const Body& body, const ScopePtr& scope) {
  for (const auto& s : body) {
    const Flow f = exec_stmt(*s, scope);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

std::string Interpreter::capture(const Body& body, const ScopePtr& scope) {
  std::string saved;
  saved.swap(out_);
  try {
    exec(body, scope);
  } catch (...) {
    out_.swap(saved);
    throw;
  }
  out_.swap(saved);
  return saved;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const ScopePtr& scope) {
  line_ = s.line;
  switch (s.kind) {
    case Stmt::Kind::Text: emit(s.text); return Flow::Normal;
    case Stmt::Kind::Output: emit(eval(*s.expr, scope).str()); return Flow::Normal;
    case Stmt::Kind::If:
      for (const auto& [cond, body] : s.branches) {
        line_ = cond->line;
        if (eval(*cond, scope).truthy()) return exec(body, scope);
      }
      return exec(s.else_body, scope);
    case Stmt::Kind::For: exec_for(s, scope); return Flow::Normal;
    case Stmt::Kind::Set: exec_set(s, scope); return Flow::Normal;
    case Stmt::Kind::SetBlock: {
      Value v(capture(s.body, scope));
      scope->vars[s.targets[0]] = apply_filter_chain(*s.filter, v, scope);
      return Flow::Normal;
    }
    case Stmt::Kind::Macro: scope->vars[s.text] = make_macro(s, scope); return Flow::Normal;
    case Stmt::Kind::Break: return Flow::Break;
    case Stmt::Kind::Continue: return Flow::Continue;
    case Stmt::Kind::FilterBlock: {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      emit(apply_filter_chain(*s.filter, Value(capture(s.body, inner)), scope).str());
      return Flow::Normal;
    }
    case Stmt::Kind::Scope: return exec(s.body, scope);
  }
  return Flow::Normal;
}

Value Interpreter::apply_filter_chain(const Expr& chain, const Value& input, const ScopePtr& scope) {
  if (chain.kind != Expr::Kind::Filter) return input;  // the placeholder at the bottom
  const Value inner = apply_filter_chain(*chain.items[0], input, scope);
  Args args = eval_args(chain.args, scope);
  return apply_filter(chain.name, inner, args);
}

void Interpreter::assign(const std::vector<std::string>& targets, bool unpack, const Value& v, Scope& scope) {
  if (!unpack) {
    scope.vars[targets[0]] = v;
    return;
  }
  const auto items = iterate(v);
  if (items.size() != targets.size())
    fail(items.size() < targets.size() ? "not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                                              std::to_string(items.size()) + ")"
                                        : "too many values to unpack (expected " + std::to_string(targets.size()) + ")");
  for (std::size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = items[i];
}

void Interpreter::exec_set(const Stmt& s, const ScopePtr& scope) {
  const Value v = eval(*s.expr, scope);
  if (!s.attribute.empty()) {
    const Value obj = lookup(s.targets[0], scope);
    if (!obj.is_namespace()) fail("cannot assign attribute on non-namespace object");
    obj.namespace_attrs().set(Value(s.attribute), v);
    return;
  }
  assign(s.targets, s.unpack, v, *scope);
}

void Interpreter::exec_for(const Stmt& s, const ScopePtr& scope) {
  std::vector<Value> items = iterate(eval(*s.expr, scope));
  if (s.filter) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      step();
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      assign(s.targets, s.unpack, item, *probe);
      if (eval(*s.filter, probe).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    exec(s.else_body, inner);
    return;
  }
  const auto n = static_cast<std::int64_t>(items.size());
  for (std::int64_t i = 0; i < n; ++i) {
    step();
    auto iter = std::make_shared<Scope>();
    iter->parent = scope;
    assign(s.targets, s.unpack, items[static_cast<std::size_t>(i)], *iter);
    static const Value k_index0("index0"), k_index("index"), k_revindex0("revindex0"), k_revindex("revindex"),
        k_first("first"), k_last("last"), k_length("length"), k_depth("depth"), k_depth0("depth0"),
        k_previtem("previtem"), k_nextitem("nextitem"), k_cycle("cycle");
    const Value cycle = Value::callable("loop.cycle", [i](Interpreter&, Args& a) {
      if (a.positional.empty()) fail("no items for cycling given");
      return a.positional[static_cast<std::size_t>(i) % a.positional.size()];
    });
    DictData loop;
    loop.items.reserve(12);
    loop.items.emplace_back(k_index0, Value(i));
    loop.items.emplace_back(k_index, Value(i + 1));
    loop.items.emplace_back(k_revindex0, Value(n - i - 1));
    loop.items.emplace_back(k_revindex, Value(n - i));
    loop.items.emplace_back(k_first, Value(i == 0));
    loop.items.emplace_back(k_last, Value(i == n - 1));
    loop.items.emplace_back(k_length, Value(n));
    loop.items.emplace_back(k_depth, Value(1));
    loop.items.emplace_back(k_depth0, Value(0));
    loop.items.emplace_back(k_previtem, i > 0 ? items[static_cast<std::size_t>(i - 1)] : Value::undefined());
    loop.items.emplace_back(k_nextitem, i + 1 < n ? items[static_cast<std::size_t>(i + 1)] : Value::undefined());
    loop.items.emplace_back(k_cycle, cycle);
    iter->vars["loop"] = Value::dict(std::move(loop));
    const Flow f = exec(s.body, iter);
    if (f == Flow::Break) break;
  }
}

Value Interpreter::make_macro(const Stmt& s, const ScopePtr& scope) {
  const Stmt* def = &s;
  std::weak_ptr<Scope> home = scope;  // the defining scope outlives every call made while rendering
  return Value::callable(s.text, [def, home](Interpreter& in, Args& args) -> Value {
    if (in.call_depth_ >= in.limits_.max_call_depth) fail("maximum recursion depth exceeded in macro '" + def->text + "'");
    in.step();
    auto frame = std::make_shared<Scope>();
    frame->parent = home.lock();
    if (args.positional.size() > def->params.size())
      fail("macro '" + def->text + "' takes not more than " + std::to_string(def->params.size()) + " argument(s)");
    std::vector<bool> given(def->params.size(), false);
    for (std::size_t i = 0; i < args.positional.size(); ++i) {
      frame->vars[def->params[i].first] = args.positional[i];
      given[i] = true;
    }
    for (const auto& [k, v] : args.keywords) {
      std::size_t idx = def->params.size();
      for (std::size_t i = 0; i < def->params.size(); ++i)
        if (def->params[i].first == k) idx = i;
      if (idx == def->params.size()) fail("macro '" + def->text + "' has no argument named '" + k + "'");
      frame->vars[k] = v;
      given[idx] = true;
    }
    for (std::size_t i = 0; i < def->params.size(); ++i) {
      if (given[i]) continue;
      const auto& [pname, dflt] = def->params[i];
      frame->vars[pname] = dflt ? in.eval(*dflt, frame) : Value::undefined("parameter '" + pname + "' was not provided");
    }
    ++in.call_depth_;
    const int saved_line = in.line_;
    std::string text;
    try {
      text = in.capture(def->body, frame);
    } catch (...) {
      --in.call_depth_;
      throw;
    }
    --in.call_depth_;
    in.line_ = saved_line;
    return Value(std::move(text));
  });
}

Value Interpreter::call(const Value& fn, Args& args) {
  if (fn.is_undefined()) fail(fn.undefined_hint());
  if (!fn.is_callable()) fail("'" + fn.type_name() + "' object is not callable");
  return fn.as_callable().fn(*this, args);
}

Value Interpreter::apply_filter(std::string_view name, const Value& input, Args& args) {
  const FilterFunction f = find_filter(name);
  if (!f) fail("no filter named '" + std::string(name) + "'");
  return f(*this, input, args);
}

bool Interpreter::apply_test(std::string_view name, const Value& input, Args& args) {
  const TestFunction t = find_test(name);
  if (!t) fail("no test named '" + std::string(name) + "'");
  return t(*this, input, args);
}

Args Interpreter::eval_args(const CallArgs& a, const ScopePtr& scope) {
  Args out;
  out.positional.reserve(a.positional.size());
  for (const auto& e : a.positional) out.positional.push_back(eval(*e, scope));
  for (const auto& [k, e] : a.keywords) out.keywords.emplace_back(k, eval(*e, scope));
  return out;
}

bool Interpreter::compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return py_equal(a, b);
  if (op == "!=") return !py_equal(a, b);
  if (op == "<") return py_less(a, b);
  if (op == ">") return py_less(b, a);
  if (op == "<=") return py_less(a, b) || py_equal(a, b);
  if (op == ">=") return py_less(b, a) || py_equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "not in") return !contains(b, a);
  fail("unknown comparison " + op);
}

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case Expr::Kind::Literal: return e.value;
    case Expr::Kind::Name: return lookup(e.name, scope);
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      std::vector<Value> items;
      items.reserve(e.items.size());
      for (const auto& x : e.items) items.push_back(eval(*x, scope));
      return Value::list(std::move(items), e.kind == Expr::Kind::Tuple);
    }
    case Expr::Kind::Dict: {
      DictData d;
      for (std::size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i], scope);
        if ((k.is_list() && !k.as_list().tuple) || k.is_dict() || k.is_undefined())
          fail("unhashable type: '" + k.type_name() + "'");
        d.set(std::move(k), eval(*e.items[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case Expr::Kind::GetAttr: return get_attribute(eval(*e.items[0], scope), e.name);
    case Expr::Kind::GetItem: {
      const Value obj = eval(*e.items[0], scope);
      const Expr& idx = *e.items[1];
      if (idx.kind == Expr::Kind::Slice) {
        Value parts[3];
        for (int i = 0; i < 3; ++i) parts[i] = idx.items[static_cast<std::size_t>(i)] ? eval(*idx.items[static_cast<std::size_t>(i)], scope) : Value::none();
        return get_slice(obj, parts[0], parts[1], parts[2]);
      }
      return get_item(obj, eval(idx, scope));
    }
    case Expr::Kind::Slice: fail("slice outside of a subscript");
    case Expr::Kind::Call: {
      const Value fn = eval(*e.items[0], scope);
      Args args = eval_args(e.args, scope);
      return call(fn, args);
    }
    case Expr::Kind::Filter: {
      const Value input = eval(*e.items[0], scope);
      Args args = eval_args(e.args, scope);
      return apply_filter(e.name, input, args);
    }
    case Expr::Kind::Test: {
      const Value input = eval(*e.items[0], scope);
      Args args = eval_args(e.args, scope);
      return Value(apply_test(e.name, input, args) != e.negated);
    }
    case Expr::Kind::Unary: {
      const Value v = eval(*e.items[0], scope);
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) fail(v.undefined_hint());
      if (!v.is_number()) fail("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
      if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
      if (v.is_float()) return Value(-v.as_float());
      if (v.as_int() == std::numeric_limits<std::int64_t>::min()) fail("integer overflow");
      return Value(-v.as_int());
    }
    case Expr::Kind::Binary: return eval_binary(e, scope);
    case Expr::Kind::Concat: {
      std::string out;
      for (const auto& x : e.items) {
        out += eval(*x, scope).str();
        check_size(out.size());
      }
      return Value(std::move(out));
    }
    case Expr::Kind::Compare: {
      Value left = eval(*e.items[0], scope);
      for (std::size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.items[i + 1], scope);
        if (!compare(e.ops[i], left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::Condition: {
      if (eval(*e.items[0], scope).truthy()) return eval(*e.items[1], scope);
      if (e.items[2]) return eval(*e.items[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  fail("unknown expression");
}

Value Interpreter::eval_binary(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.items[0], scope);
  if (e.name == "and") return left.truthy() ? eval(*e.items[1], scope) : left;
  if (e.name == "or") return left.truthy() ? left : eval(*e.items[1], scope);
  return binary_operator(e.name, left, eval(*e.items[1], scope), limits_.max_output_bytes);
}

}  // namespace kvlm::chat
