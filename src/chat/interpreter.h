// Renders a parsed Template: scopes as Jinja2 compiles them (a `for` body and
// a macro body get their own scope, `if` does not), loop objects, macros,
// and the limits that keep a hostile template from running away.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/ast.h"
#include "chat/value.h"

namespace kvlm::chat {

struct RenderLimits {
  std::size_t max_output_bytes = std::size_t{64} << 20;
  std::size_t max_steps = 2'000'000;  // loop iterations + macro calls (a chat needs thousands)
  int max_call_depth = 100;            // nested macro calls
};

class Interpreter {
 public:
  // `vars` are the render() variables (messages, add_generation_prompt, ...);
  // `today` is what strftime_now formats.
  Interpreter(const Template& tmpl, DictData vars, std::tm today, RenderLimits limits = {});

  std::string render();

  // For builtins: call a callable value, run a filter or test by name.
  Value call(const Value& fn, Args& args);
  Value apply_filter(std::string_view name, const Value& input, Args& args);
  bool apply_test(std::string_view name, const Value& input, Args& args);
  const std::tm& today() const { return today_; }
  // Counts one unit of work and fails once the step budget is spent.
  void step();
  // Fails if a string of `bytes` would exceed the output budget.
  void check_size(std::size_t bytes) const;
  int line() const { return line_; }

 private:
  struct Scope {
    std::unordered_map<std::string, Value> vars;
    std::shared_ptr<Scope> parent;
  };
  using ScopePtr = std::shared_ptr<Scope>;
  enum class Flow { Normal, Break, Continue };

  Flow exec(const Body& body, const ScopePtr& scope);
  Flow exec_stmt(const Stmt& s, const ScopePtr& scope);
  void exec_for(const Stmt& s, const ScopePtr& scope);
  void exec_set(const Stmt& s, const ScopePtr& scope);
  Value make_macro(const Stmt& s, const ScopePtr& scope);
  std::string capture(const Body& body, const ScopePtr& scope);
  Value apply_filter_chain(const Expr& chain, const Value& input, const ScopePtr& scope);
  void assign(const std::vector<std::string>& targets, bool unpack, const Value& v, Scope& scope);

  Value eval(const Expr& e, const ScopePtr& scope);
  Value eval_binary(const Expr& e, const ScopePtr& scope);
  bool compare(const std::string& op, const Value& a, const Value& b);
  Args eval_args(const CallArgs& a, const ScopePtr& scope);
  Value lookup(const std::string& name, const ScopePtr& scope) const;
  void emit(const std::string& s);

  const Template& tmpl_;
  DictData vars_;
  std::unordered_map<std::string, Value> globals_;
  std::tm today_;
  RenderLimits limits_;
  std::string out_;
  std::size_t steps_ = 0;
  int call_depth_ = 0;
  int line_ = 0;
};

// Python's binary operators on template values (+ - * / // % **).
Value binary_operator(const std::string& op, const Value& a, const Value& b, std::size_t max_bytes);
// `a in b`.
bool contains(const Value& container, const Value& item);

}  // namespace kvlm::chat
