// Jinja2 grammar (see parser.h); precedence follows jinja2.parser.Parser.
#include "chat/parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat/builtins.h"
#include "chat/template_error.h"

namespace kvlm::chat {
namespace {

using T = Token::Type;
constexpr int kMaxNesting = 200;

std::unique_ptr<Expr> make_expr(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

std::unique_ptr<Stmt> make_stmt(Stmt::Kind kind, int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = line;
  return s;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Template parse() {
    Template t;
    t.body = subparse({});
    if (cur().type != T::Eof) error("unexpected '" + describe(cur()) + "'");
    return t;
  }

 private:
  std::vector<Token> toks_;
  std::size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;

  const Token& cur() const { return toks_[i_]; }
  const Token& peek(std::size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }

  [[noreturn]] void error(const std::string& what) const {
    fail("line " + std::to_string(cur().line) + ": syntax error: " + what);
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case T::Text: return "text";
      case T::VarBegin: return "{{";
      case T::VarEnd: return "}}";
      case T::BlockBegin: return "{%";
      case T::BlockEnd: return "%}";
      case T::String: return "string";
      case T::Int:
      case T::Float: return t.text;
      case T::Eof: return "end of template";
      default: return t.text;
    }
  }

  bool is_op(const char* op) const { return cur().type == T::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == T::Name && cur().text == name; }
  void expect_op(const char* op) {
    if (!is_op(op)) error(std::string("expected '") + op + "', got '" + describe(cur()) + "'");
    next();
  }
  std::string expect_name() {
    if (cur().type != T::Name) error("expected a name, got '" + describe(cur()) + "'");
    return next().text;
  }
  void expect_block_end() {
    if (cur().type != T::BlockEnd) error("expected end of statement block, got '" + describe(cur()) + "'");
    next();
  }
  // Ends the head of a block statement; Jinja2's parse_statements allows a
  // Python-style colon there ("{% if x: %}").
  void expect_body_start() {
    if (is_op(":")) next();
    expect_block_end();
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error("template nested too deeply");
    }
    ~DepthGuard() { --p.depth_; }
  };

  // ---------------------------------------------------------------- statements

  // Parses until a block tag named in `end_tags`; leaves that tag's name as
  // the current token (after "{%").
  Body subparse(std::initializer_list<const char*> end_tags) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == T::Eof) {
        if (end_tags.size() == 0) return body;
        std::string want;
        for (const char* e : end_tags) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
        error("unexpected end of template, looking for " + want);
      }
      if (t.type == T::Text) {
        auto s = make_stmt(Stmt::Kind::Text, t.line);
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == T::VarBegin) {
        next();
        auto s = make_stmt(Stmt::Kind::Output, t.line);
        s->expr = parse_tuple(false, true, {}, false);
        if (cur().type != T::VarEnd) error("expected end of print statement, got '" + describe(cur()) + "'");
        next();
        body.push_back(std::move(s));
      } else if (t.type == T::BlockBegin) {
        next();
        if (cur().type != T::Name) error("tag name expected");
        for (const char* e : end_tags)
          if (cur().text == e) return body;
        body.push_back(parse_statement());
      } else {
        error("unexpected '" + describe(t) + "'");
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    const std::string& name = t.text;
    if (name == "if") return parse_if();
    if (name == "for") return parse_for();
    if (name == "set") return parse_set();
    if (name == "macro") return parse_macro();
    if (name == "filter") return parse_filter_block();
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) error("'" + name + "' outside of a loop");
      auto s = make_stmt(name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, t.line);
      next();
      expect_block_end();
      return s;
    }
    if (name == "generation") {  // transformers' AssistantTracker: renders its body
      auto s = make_stmt(Stmt::Kind::Scope, t.line);
      next();
      expect_body_start();
      s->body = subparse({"endgeneration"});
      end_tag();
      return s;
    }
    error("unknown tag '" + name + "'");
  }

  void end_tag() {
    next();  // the end tag's name
    expect_block_end();
  }

  StmtPtr parse_if() {
    auto s = make_stmt(Stmt::Kind::If, cur().line);
    next();
    while (true) {
      ExprPtr cond = parse_tuple(false, false, {}, false);
      expect_body_start();
      Body body = subparse({"elif", "else", "endif"});
      s->branches.emplace_back(std::move(cond), std::move(body));
      const std::string tag = cur().text;
      next();
      if (tag == "elif") continue;
      if (tag == "else") {
        expect_body_start();
        s->else_body = subparse({"endif"});
        end_tag();
      } else {
        expect_block_end();
      }
      return s;
    }
  }

  void parse_targets(Stmt& s, const char* end_name) {
    const bool paren = is_op("(");
    if (paren) next();
    while (true) {
      s.targets.push_back(expect_name());
      if (!is_op(",")) break;
      s.unpack = true;
      next();
      if ((paren && is_op(")")) || (!paren && end_name && is_name(end_name))) break;
    }
    if (paren) {
      expect_op(")");
      s.unpack = true;
    }
  }

  StmtPtr parse_for() {
    auto s = make_stmt(Stmt::Kind::For, cur().line);
    next();
    parse_targets(*s, "in");
    if (!is_name("in")) error("expected 'in', got '" + describe(cur()) + "'");
    next();
    s->expr = parse_tuple(false, false, {"recursive"}, false);
    if (is_name("if")) {
      next();
      s->filter = parse_expression(true);
    }
    if (is_name("recursive")) error("recursive loops are not supported");
    expect_body_start();
    ++loop_depth_;
    s->body = subparse({"endfor", "else"});
    --loop_depth_;
    if (cur().text == "else") {
      next();
      expect_body_start();
      s->else_body = subparse({"endfor"});
    }
    end_tag();
    return s;
  }

  StmtPtr parse_set() {
    const int line = cur().line;
    next();
    auto s = make_stmt(Stmt::Kind::Set, line);
    const std::string first = expect_name();
    if (is_op(".")) {
      next();
      s->targets.push_back(first);
      s->attribute = expect_name();
    } else {
      s->targets.push_back(first);
      while (is_op(",")) {
        s->unpack = true;
        next();
        if (is_op("=")) break;
        s->targets.push_back(expect_name());
      }
    }
    if (is_op("=")) {
      next();
      s->expr = parse_tuple(false, true, {}, false);
      expect_block_end();
      return s;
    }
    if (s->unpack || !s->attribute.empty()) error("expected '='");
    s->kind = Stmt::Kind::SetBlock;
    s->filter = parse_filter_chain();
    expect_body_start();
    s->body = subparse({"endset"});
    end_tag();
    return s;
  }

  // `| f(args) | g` applied to a placeholder (an unnamed Name node).
  ExprPtr parse_filter_chain() {
    ExprPtr node = make_expr(Expr::Kind::Name, cur().line);
    while (is_op("|")) node = parse_filter(std::move(node));
    return node;
  }

  StmtPtr parse_filter_block() {
    auto s = make_stmt(Stmt::Kind::FilterBlock, cur().line);
    next();
    ExprPtr node = make_expr(Expr::Kind::Name, cur().line);
    node = parse_filter(std::move(node), true);
    while (is_op("|")) node = parse_filter(std::move(node));
    s->filter = std::move(node);
    expect_body_start();
    s->body = subparse({"endfilter"});
    end_tag();
    return s;
  }

  StmtPtr parse_macro() {
    auto s = make_stmt(Stmt::Kind::Macro, cur().line);
    next();
    s->text = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string pname = expect_name();
      ExprPtr def;
      if (is_op("=")) {
        next();
        def = parse_expression(true);
      }
      s->params.emplace_back(std::move(pname), std::move(def));
    }
    next();
    expect_body_start();
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endmacro"});
    loop_depth_ = saved_loops;
    end_tag();
    return s;
  }

  // --------------------------------------------------------------- expressions

  bool is_tuple_end(std::initializer_list<const char*> extra_end) const {
    if (cur().type == T::VarEnd || cur().type == T::BlockEnd || cur().type == T::Eof || is_op(")")) return true;
    for (const char* e : extra_end)
      if (is_name(e)) return true;
    return false;
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<const char*> extra_end,
                      bool explicit_parentheses) {
    const int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parentheses) error("expected an expression, got '" + describe(cur()) + "'");
    }
    auto e = make_expr(Expr::Kind::Tuple, line);
    e->items = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  ExprPtr parse_condexpr() {
    DepthGuard guard(*this);
    ExprPtr expr1 = parse_or();
    while (is_name("if")) {
      const int line = cur().line;
      next();
      ExprPtr cond = parse_or();
      ExprPtr otherwise;
      if (is_name("else")) {
        next();
        otherwise = parse_condexpr();
      }
      auto e = make_expr(Expr::Kind::Condition, line);
      e->items.push_back(std::move(cond));
      e->items.push_back(std::move(expr1));
      e->items.push_back(std::move(otherwise));
      expr1 = std::move(e);
    }
    return expr1;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, int line) {
    auto e = make_expr(Expr::Kind::Binary, line);
    e->name = op;
    e->items.push_back(std::move(left));
    e->items.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const int line = next().line;
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const int line = next().line;
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make_expr(Expr::Kind::Unary, next().line);
      e->name = "not";
      e->items.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = cur().line;
    ExprPtr first = parse_math1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      if (cur().type == T::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().type == T::Name && peek().text == "in") {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make_expr(Expr::Kind::Compare, line);
        cmp->items.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    if (!cmp) return first;
    return cmp;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      left = binary(t.text, std::move(left), parse_concat(), t.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    const int line = cur().line;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = make_expr(Expr::Kind::Concat, line);
    e->items.push_back(std::move(first));
    while (is_op("~")) {
      next();
      e->items.push_back(parse_math2());
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      left = binary(t.text, std::move(left), parse_pow(), t.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& t = next();
      left = binary("**", std::move(left), parse_unary(true), t.line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      auto e = make_expr(Expr::Kind::Unary, t.line);
      e->name = t.text;
      e->items.push_back(parse_unary(false));
      node = std::move(e);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    DepthGuard guard(*this);
    const Token& t = cur();
    switch (t.type) {
      case T::Name: {
        next();
        auto e = make_expr(Expr::Kind::Literal, t.line);
        if (t.text == "true" || t.text == "True") {
          e->value = Value(true);
        } else if (t.text == "false" || t.text == "False") {
          e->value = Value(false);
        } else if (t.text == "none" || t.text == "None") {
          e->value = Value::none();
        } else {
          e->kind = Expr::Kind::Name;
          e->name = t.text;
        }
        return e;
      }
      case T::String: {
        std::string s;
        const int line = t.line;
        while (cur().type == T::String) s += next().text;
        auto e = make_expr(Expr::Kind::Literal, line);
        e->value = Value(std::move(s));
        return e;
      }
      case T::Int:
      case T::Float: {
        next();
        auto e = make_expr(Expr::Kind::Literal, t.line);
        e->value = t.type == T::Int ? Value(t.int_value) : Value(t.float_value);
        return e;
      }
      case T::Op:
        if (t.text == "(") {
          next();
          ExprPtr e = parse_tuple(false, true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default: break;
    }
    error("unexpected '" + describe(t) + "'");
  }

  ExprPtr parse_list() {
    auto e = make_expr(Expr::Kind::List, next().line);
    while (!is_op("]")) {
      if (!e->items.empty()) expect_op(",");
      if (is_op("]")) break;
      e->items.push_back(parse_expression(true));
    }
    next();
    return e;
  }

  ExprPtr parse_dict() {
    auto e = make_expr(Expr::Kind::Dict, next().line);
    while (!is_op("}")) {
      if (!e->items.empty()) expect_op(",");
      if (is_op("}")) break;
      e->items.push_back(parse_expression(true));
      expect_op(":");
      e->items.push_back(parse_expression(true));
    }
    next();
    return e;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const Token& t = next();
    if (t.text == ".") {
      const Token& attr = next();
      if (attr.type == T::Name) {
        auto e = make_expr(Expr::Kind::GetAttr, t.line);
        e->name = attr.text;
        e->items.push_back(std::move(node));
        return e;
      }
      if (attr.type == T::Int) {
        auto e = make_expr(Expr::Kind::GetItem, t.line);
        auto idx = make_expr(Expr::Kind::Literal, t.line);
        idx->value = Value(attr.int_value);
        e->items.push_back(std::move(node));
        e->items.push_back(std::move(idx));
        return e;
      }
      error("expected name or number after '.'");
    }
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    next();
    auto e = make_expr(Expr::Kind::GetItem, t.line);
    e->items.push_back(std::move(node));
    if (args.size() == 1) {
      e->items.push_back(std::move(args[0]));
    } else {
      auto tup = make_expr(Expr::Kind::Tuple, t.line);
      tup->items = std::move(args);
      e->items.push_back(std::move(tup));
    }
    return e;
  }

  ExprPtr parse_subscribed() {
    const int line = cur().line;
    std::vector<ExprPtr> parts;
    if (is_op(":")) {
      next();
      parts.emplace_back();
    } else {
      ExprPtr node = parse_expression(true);
      if (!is_op(":")) return node;
      next();
      parts.push_back(std::move(node));
    }
    if (is_op(":")) {
      parts.emplace_back();
    } else if (!is_op("]") && !is_op(",")) {
      parts.push_back(parse_expression(true));
    } else {
      parts.emplace_back();
    }
    if (is_op(":")) {
      next();
      if (!is_op("]") && !is_op(",")) {
        parts.push_back(parse_expression(true));
      } else {
        parts.emplace_back();
      }
    } else {
      parts.emplace_back();
    }
    auto e = make_expr(Expr::Kind::Slice, line);
    e->items = std::move(parts);
    return e;
  }

  CallArgs parse_call_args() {
    expect_op("(");
    CallArgs args;
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
      if (cur().type == T::Name && peek().type == T::Op && peek().text == "=") {
        std::string key = next().text;
        next();
        args.keywords.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!args.keywords.empty()) error("positional argument after keyword argument");
        args.positional.push_back(parse_expression(true));
      }
    }
    next();
    return args;
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make_expr(Expr::Kind::Call, cur().line);
    e->args = parse_call_args();
    e->items.push_back(std::move(node));
    return e;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (is_op(".")) {
      next();
      name += "." + expect_name();
    }
    return name;
  }

  ExprPtr parse_filter(ExprPtr node, bool start_inline = false) {
    const int line = cur().line;
    if (!start_inline) expect_op("|");
    auto e = make_expr(Expr::Kind::Filter, line);
    e->name = dotted_name();
    if (is_op("(")) e->args = parse_call_args();
    e->items.push_back(std::move(node));
    return e;
  }

  ExprPtr parse_test(ExprPtr node) {
    const int line = next().line;  // "is"
    bool negated = false;
    if (is_name("not")) {
      next();
      negated = true;
    }
    auto e = make_expr(Expr::Kind::Test, line);
    e->name = dotted_name();
    e->negated = negated;
    if (is_op("(")) {
      e->args = parse_call_args();
    } else if ((cur().type == T::Name || cur().type == T::String || cur().type == T::Int || cur().type == T::Float ||
                is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error("you cannot chain multiple tests with is");
      e->args.positional.push_back(parse_postfix(parse_primary()));
    }
    e->items.push_back(std::move(node));
    return e;
  }
};

// Unknown filters and tests are compile-time errors in Jinja2 except inside an
// `if` statement or an inline if-expression (a "soft" frame, which lets
// `{% if 'x' is filter %}` guard a use); there they fail only when run. A
// loop body or else, macro or block-set body starts a fresh, non-soft frame.
void check_names(const Expr* e, bool soft) {
  if (!e) return;
  if (e->kind == Expr::Kind::Condition) soft = true;
  if (!soft && e->kind == Expr::Kind::Filter && !find_filter(e->name))
    fail("line " + std::to_string(e->line) + ": no filter named '" + e->name + "'");
  if (!soft && e->kind == Expr::Kind::Test && !find_test(e->name))
    fail("line " + std::to_string(e->line) + ": no test named '" + e->name + "'");
  for (const auto& x : e->items) check_names(x.get(), soft);
  for (const auto& x : e->args.positional) check_names(x.get(), soft);
  for (const auto& kv : e->args.keywords) check_names(kv.second.get(), soft);
}

void check_names(const Body& body, bool soft) {
  for (const auto& s : body) {
    check_names(s->expr.get(), soft);
    switch (s->kind) {
      case Stmt::Kind::If:
        for (const auto& [cond, branch] : s->branches) {
          check_names(cond.get(), true);
          check_names(branch, true);
        }
        check_names(s->else_body, true);
        break;
      case Stmt::Kind::For:
        check_names(s->filter.get(), false);
        check_names(s->body, false);
        check_names(s->else_body, false);
        break;
      case Stmt::Kind::Macro:
        for (const auto& p : s->params) check_names(p.second.get(), soft);
        check_names(s->body, false);
        break;
      case Stmt::Kind::SetBlock:
      case Stmt::Kind::FilterBlock:
        check_names(s->filter.get(), soft);
        check_names(s->body, false);
        break;
      default: check_names(s->body, soft);
    }
  }
}

}  // namespace

Template parse_template(std::string_view source, const LexerOptions& options) {
  Parser parser(tokenize(source, options));
  Template t = parser.parse();
  check_names(t.body, false);
  return t;
}

}  // namespace kvlm::chat
