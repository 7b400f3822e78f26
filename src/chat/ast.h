// Syntax tree of a parsed chat template. Nodes are immutable after parsing
// and shared by every render (a parsed template is thread-safe to render).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace kvlm::chat {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<const Expr>;
using StmtPtr = std::unique_ptr<const Stmt>;
using Body = std::vector<StmtPtr>;

struct CallArgs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
};

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    List,       // items
    Tuple,      // items
    Dict,       // items: key, value, key, value, ...
    GetAttr,    // items[0] . name
    GetItem,    // items[0] [ items[1] ]
    Slice,      // only as GetItem's index: items = start, stop, step (null = omitted)
    Call,       // items[0] ( args )
    Filter,     // items[0] | name ( args )
    Test,       // items[0] is [not] name ( args ); negated
    Unary,      // op items[0]: "-", "+", "not"
    Binary,     // items[0] op items[1]: + - * / // % ** ~ and or
    Concat,     // items joined with ~
    Compare,    // items[0] ops[0] items[1] ops[1] items[2] ...
    Condition,  // items[1] if items[0] else items[2] (items[2] may be null)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;  // Name, attribute, filter/test name or operator
  bool negated = false;
  std::vector<ExprPtr> items;
  std::vector<std::string> ops;
  CallArgs args;
};

struct Stmt {
  enum class Kind {
    Text,      // text
    Output,    // expr
    If,        // branches (cond, body)...; else_body
    For,       // targets in expr [if filter]; body; else_body
    Set,       // targets = expr, or target_object.attribute = expr
    SetBlock,  // targets[0] = rendered body [| filters in expr]
    Macro,     // name(params) body
    Break,
    Continue,
    FilterBlock,  // body rendered then passed through filter chain in expr
    Scope,        // body (generation blocks and the like): rendered as-is
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // For: the loop filter; SetBlock: filter chain over a Name("") placeholder
  std::vector<std::string> targets;
  bool unpack = false;     // For/Set: targets form a tuple
  std::string attribute;   // Set: namespace attribute (targets[0] is the object)
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro: name, default (may be null)
};

struct Template {
  Body body;
};

}  // namespace kvlm::chat
