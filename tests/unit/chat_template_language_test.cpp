// Jinja2 language features of the chat-template renderer on small templates.
// Expected strings follow Jinja2 semantics under transformers' settings
// (trim_blocks, lstrip_blocks, default Undefined); the Jinja2 parity scripts
// in tests/scripts check the same ground against Jinja2 itself.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kvlm/chat_template.h"
#include "kvlm/error.h"

namespace kvlm {
namespace {

using ojson = nlohmann::ordered_json;

std::string render(const std::string& source, ojson vars = ojson::object(), ojson messages = ojson::array()) {
  RenderOptions o;
  o.date = "2024-09-05";
  o.extra_json = vars.dump();
  return ChatTemplate::from_string(source, "<s>", "</s>").render_json(messages.dump(), false, o);
}

TEST(ChatTemplateLanguage, Literals) {
  EXPECT_EQ(render("{{ 'a\\tb\\n' }}|{{ \"q'\" }}|{{ 'x' 'y' }}|{{ '\\u00e9\\x41' }}"), "a\tb\n|q'|xy|éA");
  EXPECT_EQ(render("{{ 1 }} {{ 2.5 }} {{ 1.0 }} {{ 1e3 }} {{ 1e16 }} {{ 1e-5 }} {{ 0.1 + 0.2 }}"),
            "1 2.5 1.0 1000.0 1e+16 1e-05 0.30000000000000004");
  EXPECT_EQ(render("{{ true }} {{ False }} {{ none }} {{ [1, 'a', none] }} {{ {'k': [true]} }} {{ (1,) }}"),
            "True False None [1, 'a', None] {'k': [True]} (1,)");
  EXPECT_EQ(render("{{ [\"it's\", 'say \"x\"'] }}"), "[\"it's\", 'say \"x\"']");
}

TEST(ChatTemplateLanguage, Arithmetic) {
  EXPECT_EQ(render("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }}"), "3.5 3 -4 2 1024 7");
  EXPECT_EQ(render("{{ 'ab' * 2 }} {{ [1] + [2] }} {{ 'a' ~ 1 ~ none }} {{ -x }}", {{"x", 3}}), "abab [1, 2] a1None -3");
}

TEST(ChatTemplateLanguage, ComparisonsAndLogic) {
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' in 'cat' }} {{ 3 not in [1] }} {{ 'k' in {'k': 1} }}"),
            "True True True True True");
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ '' and 'b' }}|{{ 1 if false else 2 }} {{ 'y' if false }}|{{ not none }}"),
            "x |2 |True");
}

TEST(ChatTemplateLanguage, UndefinedLikeJinja) {
  EXPECT_EQ(render("[{{ u }}][{{ u | default('d') }}][{{ u is defined }}][{{ u | length }}][{{ u ~ 'x' }}]"),
            "[][d][False][0][x]");
  EXPECT_EQ(render("[{{ m.missing }}][{{ m['missing'] }}][{{ l[5] }}][{{ none.x }}]", {{"m", {{"a", 1}}}, {"l", {1}}}),
            "[][][][]");
  EXPECT_THROW(render("{{ u.x }}"), Error);
  EXPECT_THROW(render("{{ m.missing.x }}", {{"m", ojson::object()}}), Error);
  EXPECT_THROW(render("{{ u + 1 }}"), Error);
}

TEST(ChatTemplateLanguage, SubscriptsAndSlices) {
  const ojson vars = {{"l", {1, 2, 3, 4}}, {"s", "héllo"}};
  EXPECT_EQ(render("{{ l[-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l.0 }}", vars),
            "4 [2, 3, 4] [1, 2, 3] [4, 3, 2, 1] [1, 3] 1");
  EXPECT_EQ(render("{{ s[1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s | length }}", vars), "é él olléh 5");
}

TEST(ChatTemplateLanguage, SetNamespaceAndScoping) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }},{% endfor %}{{ x }}"),
            "111,111,1");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
            "6");
  EXPECT_EQ(render("{% if true %}{% set y = 'leaks' %}{% endif %}{{ y }}"), "leaks");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ b }}{{ a }}{% set c %}x{{ a }}{% endset %}[{{ c }}]"), "21[x1]");
}

TEST(ChatTemplateLanguage, ForLoops) {
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }};{% endfor %}"),
            "103TrueFalse3;212FalseFalse3;321FalseTrue3;");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}",
                   {{"d", {{"b", 1}, {"a", 2}}}}),
            "b=1;a=2;ba");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in range(6) if x is odd %}{{ x }}{% if x == 3 %}{% break %}{% endif %}{% endfor %}"), "13");
}

TEST(ChatTemplateLanguage, Macros) {
  EXPECT_EQ(render("{% macro g(name, p='!') %}Hi {{ name }}{{ p }}{% endmacro %}{{ g('A') }} {{ g(p='?', name='B') }}"),
            "Hi A! Hi B?");
  EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
}

TEST(ChatTemplateLanguage, WhitespaceControl) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks drops the
  // indentation before one; '-' strips all whitespace on its side; '+' opts out.
  EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("a  {{- ' b ' -}}  c"), "a b c");
  EXPECT_EQ(render("x\n  {# note #}\ny"), "x\ny");
  EXPECT_EQ(render("x\n  {%+ if true %}y{% endif +%}\nz"), "x\n  y\nz");
  EXPECT_EQ(render("{{ 'v' }}\nw"), "v\nw");     // no trimming after {{ }}
  EXPECT_EQ(render("end\n"), "end");             // one trailing newline is dropped
  EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(ChatTemplateLanguage, Tests) {
  EXPECT_EQ(render("{{ 1 is number }}{{ true is integer }}{{ 's' is string }}{{ 's' is iterable }}{{ {} is mapping }}"
                   "{{ [] is sequence }}{{ none is none }}{{ 2 is even }}{{ 3 is odd }}{{ true is boolean }}"),
            "TrueFalseTrueTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ x is not none }}{{ x is defined }}{{ u is undefined }}{{ 1 is equalto 1 }}{{ 9 is divisibleby 3 }}",
                   {{"x", 0}}),
            "TrueTrueTrueTrueTrue");
}

TEST(ChatTemplateLanguage, Filters) {
  EXPECT_EQ(render("[{{ '  a \\n' | trim }}][{{ 'ab' | upper }}][{{ 'AB' | lower }}][{{ 'hi you' | capitalize }}]"
                   "[{{ 'hi you' | title }}][{{ [1, 2] | join('-') }}][{{ [1, 2] | first }}][{{ [1, 2] | last }}]"),
            "[a][AB][ab][Hi you][Hi You][1-2][1][2]");
  EXPECT_EQ(render("{{ '42' | int + 1 }} {{ '2.5' | float }} {{ 5 | string }} {{ 'aaa' | replace('a', 'b', 2) }} "
                   "{{ [3, 1, 2] | sort | list }} {{ [1, 1, 2] | unique | list }} {{ [1, 2] | reverse | list }}"),
            "43 2.5 5 bba [1, 2, 3] [1, 2] [2, 1]");
  const ojson users = {{"users", {{{"name", "a"}, {"on", true}}, {{"name", "b"}, {"on", false}}}}};
  EXPECT_EQ(render("{{ users | selectattr('on') | map(attribute='name') | list }} "
                   "{{ users | rejectattr('on') | map(attribute='name') | join }} {{ users | length }}",
                   users),
            "['a'] b 2");
  EXPECT_EQ(render("{{ d | items | list }} {{ u | default('x') }} {{ '' | default('y', true) }}", {{"d", {{"k", 1}}}}),
            "[('k', 1)] x y");
}

TEST(ChatTemplateLanguage, ToJsonLikeTransformers) {
  const ojson vars = {{"d", {{"z", 1}, {"a", {1.5, true, nullptr, "ü\"\n"}}, {"e", ojson::object()}}}};
  EXPECT_EQ(render("{{ d | tojson }}", vars), "{\"z\": 1, \"a\": [1.5, true, null, \"ü\\\"\\n\"], \"e\": {}}");
  EXPECT_EQ(render("{{ d | tojson(indent=2) }}", vars),
            "{\n  \"z\": 1,\n  \"a\": [\n    1.5,\n    true,\n    null,\n    \"ü\\\"\\n\"\n  ],\n  \"e\": {}\n}");
  EXPECT_EQ(render("{{ 'é' | tojson(ensure_ascii=true) }} {{ 1e21 | tojson }} {{ 100.0 | tojson }}"),
            "\"\\u00e9\" 1e+21 100.0");
}

TEST(ChatTemplateLanguage, Methods) {
  EXPECT_EQ(render("[{{ ' x '.strip() }}][{{ 'a,b'.split(',') }}][{{ ' a  b '.split() }}][{{ 'ab'.startswith('a') }}]"
                   "[{{ 'ab'.endswith('x') }}][{{ 'Ab'.upper() }}][{{ 'a-b'.replace('-', '+') }}]"),
            "[x][['a', 'b']][['a', 'b']][True][False][AB][a+b]");
  EXPECT_EQ(render("{{ d.get('k') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.values() | list }}", {{"d", {{"k", "v"}}}}),
            "v 0 ['k'] ['v']");
}

TEST(ChatTemplateLanguage, PythonWhitespaceInTrim) {
  // str.strip() removes Unicode whitespace (U+3000, U+00A0, U+0085, U+001C) but not U+200B.
  EXPECT_EQ(render("[{{ s | trim }}]", {{"s", "\u3000\u00a0\u0085\u001c x \u200b"}}), "[x \u200b]");
}

TEST(ChatTemplateLanguage, Globals) {
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %j') }}"), "05 Sep 2024|Thursday 249");
  EXPECT_EQ(render("{{ range(3) | list }} {{ dict(a=1) }} {{ namespace(a=2).a }} {{ bos_token }}{{ eos_token }}"),
            "[0, 1, 2] {'a': 1} 2 <s></s>");
}

TEST(ChatTemplateApi, RendersMessagesAndGenerationPrompt) {
  const auto t = ChatTemplate::from_string(
      "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}{% endfor %}{% if add_generation_prompt %}<a>{% endif %}");
  const std::vector<ChatMessage> msgs = {{"user", " hi "}, {"assistant", "yo"}};
  EXPECT_EQ(t.render(msgs, true), "<user>hi<assistant>yo<a>");
  EXPECT_EQ(t.render(msgs, false), "<user>hi<assistant>yo");
  EXPECT_EQ(t.render_json(R"([{"role": "user", "content": "x"}])", false), "<user>x");
  EXPECT_THROW(t.render_json("[{", false), Error);
}

TEST(ChatTemplateApi, ToolsAndDocumentsDefaultToNone) {
  const auto t = ChatTemplate::from_string("{{ tools is none }}{{ documents is none }}{{ bos_token is defined }}");
  EXPECT_EQ(t.render({}, false), "TrueTrueFalse");
  RenderOptions o;
  o.extra_json = R"({"tools": [{"name": "f"}]})";
  EXPECT_EQ(ChatTemplate::from_string("{{ tools | tojson }}").render({}, false, o), "[{\"name\": \"f\"}]");
  o.extra_json = "[1]";
  EXPECT_THROW(ChatTemplate::from_string("x").render({}, false, o), Error);
}

TEST(ChatTemplateApi, ConcurrentRendersAgree) {
  const auto t = ChatTemplate::from_string(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m.content }}{% endfor %}{{ ns.n }}");
  std::vector<ChatMessage> msgs;
  for (int i = 0; i < 50; ++i) msgs.push_back({"user", std::to_string(i)});
  const std::string want = t.render(msgs, false);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int k = 0; k < 8; ++k)
    threads.emplace_back([&, k] {
      for (int r = 0; r < 50; ++r) ok[static_cast<std::size_t>(k)] += t.render(msgs, false) == want;
    });
  for (auto& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 50);
}

}  // namespace
}  // namespace kvlm
