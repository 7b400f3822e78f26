// Template errors are kvlm::Error with one clear line, never a crash or a hang.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "kvlm/chat_template.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

using ojson = nlohmann::ordered_json;

// Returns the error message of parsing + rendering `source`, or "" if none.
std::string error_of(const std::string& source, ojson messages = ojson::array()) {
  try {
    ChatTemplate::from_string(source).render_json(messages.dump(), true);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& source, const std::string& fragment, ojson messages = ojson::array()) {
  const std::string msg = error_of(source, messages);
  EXPECT_NE(msg.find(fragment), std::string::npos) << "template: " << source.substr(0, 200) << "\nerror: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("chat template: ", 0), 0u) << msg;
}

TEST(ChatTemplateErrors, SyntaxErrors) {
  expect_error("{{ x ", "expected '}}'");
  expect_error("{% if x %}never closed", "looking for 'elif' or 'else' or 'endif'");
  expect_error("{% for x in y %}", "'endfor'");
  expect_error("{# open comment", "missing end of comment tag");
  expect_error("{{ 'open string }}", "unexpected end of string literal");
  expect_error("{% endif %}", "unknown tag 'endif'");
  expect_error("{% include 'x' %}", "unknown tag 'include'");
  expect_error("{{ (1 }}", "unexpected '}'");
  expect_error("{{ }}", "expected an expression");
  expect_error("line1\nline2 {{ 1 + }}", "line 2");
}

TEST(ChatTemplateErrors, UnknownFilterOrTestFailsAtParseTime) {
  // As in Jinja2: at parse time, even in a loop that never runs; inside an
  // `if` or an inline if-expression only when evaluated.
  expect_error("{% for x in [] %}{{ x | frobnicate }}{% endfor %}", "no filter named 'frobnicate'");
  expect_error("{{ x is frobnicated }}", "no test named 'frobnicated'");
  expect_error("{% if true %}{% for x in [] %}{{ x | frobnicate }}{% endfor %}{% endif %}", "no filter named");
  EXPECT_EQ(ChatTemplate::from_string("{% if false %}{{ x | frobnicate }}{% endif %}{{ 1 if true else x is nada }}")
                .render({}, false),
            "1");
  expect_error("{% if true %}{{ x | frobnicate }}{% endif %}", "no filter named 'frobnicate'");
}

TEST(ChatTemplateErrors, RaiseException) {
  expect_error("{{ raise_exception('Conversation roles must alternate') }}", "Conversation roles must alternate");
  expect_error("{{ raise_exception('multi\nline') }}", "multi line");
}

TEST(ChatTemplateErrors, RuntimeTypeErrors) {
  expect_error("{{ 1 + 'a' }}", "unsupported operand type(s) for +: 'int' and 'str'");
  expect_error("{{ 1 / 0 }}", "division by zero");
  expect_error("{{ u.x }}", "'u' is undefined");
  expect_error("{{ x | tojson }}", "not JSON serializable");
  expect_error("{{ messages.append(1) }}", "unsafe");
  expect_error("{% set s = 1 %}{% set s.a = 2 %}", "non-namespace");
  expect_error("{{ 9223372036854775807 + 1 }}", "integer overflow");
}

TEST(ChatTemplateErrors, RunawayTemplatesStop) {
  expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion");
  expect_error("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(0) }}", "recursion");
  expect_error("{{ range(1000000) | length }}", "MAX_RANGE");
  expect_error("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "too long");
  expect_error("{{ 'x' * 1000000000000 }}", "too large");
  expect_error("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", "nested too deeply");
  expect_error("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}", "nested too deeply");
  std::string nots = "{{ ";
  for (int i = 0; i < 5000; ++i) nots += "not ";
  expect_error(nots + "x }}", "nested too deeply");
  std::string deep_ifs;
  for (int i = 0; i < 5000; ++i) deep_ifs += "{% if true %}";
  expect_error(deep_ifs, "nested too deeply");
}

TEST(ChatTemplateErrors, DeeplyNestedInput) {
  const std::string text = std::string(1000, '[') + std::string(1000, ']');
  expect_error("{{ messages }}", "nested too deeply", ojson::parse(text));
}

TEST(ChatTemplateErrors, BadDate) {
  RenderOptions o;
  o.date = "2024-02-30";
  EXPECT_THROW(ChatTemplate::from_string("x").render({}, false, o), Error);
  o.date = "05/09/2024";
  EXPECT_THROW(ChatTemplate::from_string("x").render({}, false, o), Error);
}

class ChatTemplateLoad : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("kvlm_tpl_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir / name, std::ios::binary) << text; }
};

TEST_F(ChatTemplateLoad, JinjaFileWinsOverConfigAndTokensComeFromConfig) {
  write("chat_template.jinja", "{{ bos_token }}file{{ eos_token }}\n");
  write("tokenizer_config.json",
        R"({"chat_template": "config", "bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>"})");
  const auto t = ChatTemplate::load(dir);
  EXPECT_EQ(t.render({}, false), "<B>file<E>");
}

TEST_F(ChatTemplateLoad, ConfigStringOrNamedList) {
  write("tokenizer_config.json", R"({"chat_template": "plain{{ eos_token }}", "eos_token": "<E>", "bos_token": null})");
  EXPECT_EQ(ChatTemplate::load(dir).render({}, false), "plain<E>");
  write("tokenizer_config.json",
        R"({"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "dflt"}]})");
  EXPECT_EQ(ChatTemplate::load(dir).render({}, false), "dflt");
}

TEST_F(ChatTemplateLoad, MissingTemplateIsAnError) {
  write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  EXPECT_THROW(ChatTemplate::load(dir), Error);
  EXPECT_THROW(ChatTemplate::load(dir / "does-not-exist"), Error);
}

TEST(ChatTemplateLoadReal, Llama32FixtureRenders) {
  const auto t = ChatTemplate::load(std::filesystem::path(KVLM_SOURCE_DIR) / "data" / "llama-3.2-1b-instruct");
  RenderOptions o;
  o.date = "2024-09-05";
  const std::vector<ChatMessage> msgs = {{"user", "Hi"}};
  EXPECT_EQ(t.render(msgs, true, o),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 05 Sep 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

}  // namespace
}  // namespace kvlm
