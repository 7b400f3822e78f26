#!/usr/bin/env python3
"""Jinja2 language parity of `kvlm template` on small feature templates.

Each template below exercises one corner of the Jinja subset that chat
templates use (literals, operators, undefined handling, scoping, loops,
macros, whitespace control, tests, filters, Python methods, globals) or an
error Jinja2 raises. Jinja2, configured exactly as transformers configures it,
produces the expected output; kvlm must match byte for byte, or fail where
Jinja2 fails (at parse time for syntax errors), with a one-line message and
never a crash.
"""
import argparse
import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_chat_template_parity import compile_like_transformers  # noqa: E402

DATE = "2024-02-29"

# Small templates covering the Jinja subset; rendered by Jinja2 and kvlm.
M = [{"role": "system", "content": " sys "}, {"role": "user", "content": "héllo wörld"}, {"role": "assistant", "content": "Ok"}]
FEATURES = [
    # literals and output
    ("{{ 'a\\tb\\n\\u00e9\\x41\\101\\\\' }}|{{ \"q'\" }}|{{ 'x' 'y' }}", {}),
    ("{{ 1 }} {{ -3 }} {{ 1_000 }} {{ 2.5 }} {{ 1e3 }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e-5 }} {{ 123456789.123 }}", {}),
    ("{{ true }} {{ True }} {{ false }} {{ none }} {{ None }} {{ [1, 'a', none, true, 2.0] }} {{ {'a': [1, {'b': 'c'}]} }}", {}),
    ("{{ (1, 2) }} {{ (1,) }} {{ () }} {{ 1, 2 }} {{ [] }} {{ {} }}", {}),
    ("{{ \"it's\" }} {{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'nl\\n', 'tab\\t', '\\x01', '\\u00a0', '\\u200b', 'é'] }}", {}),
    # arithmetic
    ("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", {}),
    ("{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] * 3 }} {{ [1] + [2] }} {{ 'a' ~ 1 ~ none ~ true }} {{ 1 + 2.5 }} {{ true + 1 }}", {}),
    ("{{ -x }} {{ +x }} {{ - 2 ** 2 }} {{ not x }} {{ not not x }}", {"x": 3}),
    # comparisons and logic
    ("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 'é' > 'z' }} {{ none == none }} {{ 1 != 2 }} {{ 2 >= 2 }} {{ 2 <= 1 }}", {}),
    ("{{ 'a' in 'cat' }} {{ 'x' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'v' in {'k': 'v'} }} {{ not 'a' in 'b' }} {{ u in [1] }} {{ 'a' in u }}", {}),
    ("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or [] }} {{ 1 if true else 2 }} {{ 1 if false else 2 }} {{ 'y' if false }}|{{ ('y' if false) is defined }}", {}),
    # undefined
    ("[{{ u }}][{{ u | default('d') }}][{{ u is defined }}][{{ u is undefined }}][{{ u | length }}][{{ u ~ 'x' }}][{{ u | trim }}][{{ u == u }}][{{ not u }}]", {}),
    ("[{{ m.missing }}][{{ m['missing'] }}][{{ m.missing is defined }}][{{ l[10] }}][{{ none.x }}][{{ 5.x }}]", {"m": {"a": 1}, "l": [1]}),
    ("{% for x in u %}{{ x }}{% else %}empty{% endfor %}{{ u | list }}{{ u | join(',') }}{{ u | first }}", {}),
    ("{{ u.x }}", {}),
    ("{{ u + 1 }}", {}),
    ("{{ u() }}", {}),
    ("{{ m.a.b }}", {"m": {"a": None}}),
    ("{{ m.missing.b }}", {"m": {"a": None}}),
    # attribute / subscript / slices
    ("{{ m.a }} {{ m['a'] }} {{ m.items is callable }}{{ l.0 }} {{ l[-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }} {{ l[5:] }} {{ l[1:2:-1] }} {{ l[3:0:-1] }}", {"m": {"a": 1, "items": 2}, "l": [1, 2, 3, 4]}),
    ("{{ s[0] }} {{ s[-1] }} {{ s[1:4] }} {{ s[::-1] }} {{ s | length }} {{ s[10] }}|{{ s[:-3] }}", {"s": "héllo 日本"}),
    ("{{ m['k'] }} {{ m.get('k') }} {{ m.get('z') }} {{ m.get('z', 'dflt') }} {{ m.keys() | list }} {{ m.values() | list }} {{ m.items() | list }}", {"m": {"k": "v", "n": 2}}),
    # statements: set, namespace, scoping
    ("{% set x = 1 %}{% set y, z = 2, 3 %}{{ x }}{{ y }}{{ z }}{% set a = [1,2] %}{% set b = a + [3] %}{{ b }}", {}),
    ("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }}|{% endfor %}{{ x }}", {}),
    ("{% set ns = namespace(total=0, names=[]) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% set ns.names = ns.names + [i | string] %}{% endfor %}{{ ns.total }} {{ ns.names | join('-') }} {{ ns.missing }}|", {}),
    ("{% set ns = namespace() %}{% set ns.found = false %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}", {}),
    ("{% if true %}{% set leaked = 'yes' %}{% endif %}{{ leaked }}{% for i in [1] %}{% set inner = 'no' %}{% endfor %}[{{ inner }}]", {}),
    ("{% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]{% set y | upper %}shout{% endset %}{{ y }}", {}),
    ("{% set d = {'a': 1} %}{% set x = 'z' %}{{ d }} {% set ns2 = 5 %}", {}),
    ("{% set s = 'x' %}{% set s.attr = 1 %}", {}),
    # if / elif / else
    ("{% for v in [0, 1, 2, 3] %}{% if v == 0 %}zero{% elif v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %},{% endfor %}", {}),
    # for loops
    ("{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}", {}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("{% for c in 'héy' %}[{{ c }}]{% endfor %}{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.index }}{% endfor %}", {}),
    ("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}|{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("{% for x in [1, 2] %}{% for y in 'ab' %}{{ loop.index }}{{ x }}{{ y }} {% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("{% for x in [1, 2, 3] %}{{ loop.previtem }}>{{ x }}<{{ loop.nextitem }} {{ loop.cycle('odd', 'even') }}|{% endfor %}", {}),
    ("{% for x in range(3) %}{{ x }}{% endfor %}{% for x in range(1, 10, 3) %}{{ x }}{% endfor %}{{ range(5) | list }}", {}),
    # macros
    ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(punct='.', name='Cy') }}", {}),
    ("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n }}*{{ fact(n - 1) }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("{% macro show(x) %}[{{ x }}]{% endmacro %}{% for m in messages %}{{ show(m.role) }}{% endfor %}", {}),
    # whitespace control
    ("a  {{- ' b ' -}}  c\n  {%- if true -%}  d  {%- endif -%}\n e", {}),
    ("line1\n    {% if true %}\n    inside\n    {% endif %}\nline2\n  {# comment #}\nline3\n{%+ if true %}x{% endif +%}\ny", {}),
    ("{% for m in messages %}\n  {{ m.role }}\n{% endfor %}\n", {}),
    ("  {%- if true %} a {% endif -%}  \n\n b {# c -#}   d {#- e #}f", {}),
    ("{% raw %}{{ not rendered }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw %}|", {}),
    ("text\r\nwith crlf {{ 'x' }}\r\n", {}),
    ("{{ '{{' }} {{ '}}' }} {{ {'a': {'b': 1}} }}", {}),
    # tests
    ("{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is integer }}{{ true is boolean }}{{ 's' is string }}{{ [1] is iterable }}{{ 's' is iterable }}{{ {} is mapping }}{{ [] is mapping }}{{ [] is sequence }}{{ 1 is sequence }}", {}),
    ("{{ 2 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}{{ none is none }}{{ 0 is none }}{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 'ab' is lower }}{{ 'AB' is upper }}", {}),
    ("{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 2 is gt 1 }}{{ 2 is lt 1 }}{{ 'a' is in 'abc' }}{{ 1 is in [2] }}{{ x is not none }}{{ x is not defined }}{{ range is callable }}{{ 'upper' is filter }}{{ 'odd' is test }}{{ 1 is sameas 1 }}{{ none is sameas none }}", {"x": 1}),
    # filters
    ("[{{ '  a b \\n' | trim }}][{{ 'xxaxx' | trim('x') }}][{{ s | length }}][{{ [1,2] | count }}][{{ {'a': 1} | length }}][{{ 'hello world' | upper }}][{{ 'HeLLo' | lower }}][{{ 'hello WORLD' | capitalize }}][{{ 'hello wORLD-foo (bar' | title }}]", {"s": "日本語"}),
    ("{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ [] | tojson(indent=2) }}|{{ 'é\"\\n<>&' | tojson }}|{{ 1.0 | tojson }}|{{ none | tojson }}|{{ d | tojson(sort_keys=true) }}|{{ [1, [2, {}]] | tojson(indent=1) }}", {"d": {"z": 1, "a": [1.5, True, None, "ü"], "m": {}}}),
    ("{{ d | tojson(separators=(',', ':')) }}|{{ d | tojson(ensure_ascii=true) }}|{{ d | tojson(indent='\\t') }}", {"d": {"k": "日本😀", "n": [1e21, 1e-7, -0.0]}}),
    ("{{ [3, 1, 2] | join }}|{{ ['a', 'b'] | join(', ') }}|{{ users | join(', ', attribute='name') }}|{{ [1, 2] | first }}|{{ [1, 2] | last }}|{{ 'abc' | first }}|{{ 'abc' | last }}|{{ [] | first }}|{{ 'ab' | list }}|{{ {'a': 1} | list }}", {"users": [{"name": "x"}, {"name": "y"}]}),
    ("{{ 5 | string }}{{ none | string }}|{{ '42' | int }}|{{ '4.7' | int }}|{{ 'x' | int }}|{{ 'x' | int(7) }}|{{ 3.9 | int }}|{{ '2.5' | float }}|{{ 'x' | float }}|{{ 3 | float }}|{{ '0x1A' | int(base=16) }}", {}),
    ("{{ 'aaa' | replace('a', 'b') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'hello' | replace('', '-') }}|{{ u | default('x') }}|{{ '' | default('x') }}|{{ '' | default('x', true) }}|{{ none | d('n', boolean=true) }}|{{ 0 | default(5) }}", {}),
    ("{{ users | selectattr('admin') | map(attribute='name') | list }}|{{ users | rejectattr('admin') | map(attribute='name') | join }}|{{ users | selectattr('name', 'equalto', 'b') | list | length }}|{{ users | map(attribute='age', default=0) | list }}|{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('even') | list }}|{{ ['a', 'B'] | map('upper') | list }}|{{ users | selectattr('age', 'gt', 20) | list | length }}|{{ [0, 1, '', 'x'] | select | list }}",
     {"users": [{"name": "a", "admin": True, "age": 30}, {"name": "b", "admin": False}, {"name": "c"}]}),
    ("{{ [3, 1, 2] | sort }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ ['b', 'A', 'c'] | sort }}|{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}|{{ users | sort(attribute='n') | map(attribute='n') | list }}|{{ [1, 2, 1, 'a', 'A'] | unique | list }}|{{ [1, 2, 3] | reverse | list }}|{{ 'abc' | reverse }}|{{ {'b': 1, 'a': 2} | dictsort }}",
     {"users": [{"n": 2}, {"n": 1}]}),
    ("{{ -3 | abs }}|{{ 2.5 | round }}|{{ 3.5 | round }}|{{ 2.567 | round(2) }}|{{ 2.1 | round(0, 'ceil') }}|{{ [1, 2, 3] | sum }}|{{ [1, 5, 3] | max }}|{{ [4, 2, 8] | min }}|{{ 'x<y & \"z\"' | e }}|{{ 'safe' | safe }}|{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'hi' | center(6) }}|{{ 'one two  three' | wordcount }}", {}),
    # methods
    ("[{{ '  x  '.strip() }}][{{ '  x  '.lstrip() }}][{{ '  x  '.rstrip() }}][{{ 'xxaxx'.strip('x') }}][{{ 'a,b,,c'.split(',') }}][{{ ' a  b \\n c '.split() }}][{{ 'a b c'.split(' ', 1) }}][{{ 'a,b,c'.rsplit(',', 1) }}][{{ 'l1\\nl2\\r\\nl3'.splitlines() }}]", {}),
    ("{{ 'hello'.startswith('he') }}{{ 'hello'.endswith('lo') }}{{ 'hello'.startswith(('x', 'h')) }}{{ 'Hello World'.upper() }}{{ 'Hello World'.lower() }}{{ 'hello world'.title() }}{{ 'hello world'.capitalize() }}{{ 'a-b-c'.replace('-', '+') }}{{ 'a-b-c'.replace('-', '+', 1) }}", {}),
    ("{{ 'héllo'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ ', '.join(['a', 'b']) }} {{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ '  '.isspace() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ '{} and {}'.format('x', 1) }} {{ '{name}!'.format(name='N') }} {{ [1, 2, 2].count(2) }} {{ [1, 2].index(2) }}", {}),
    # unicode whitespace behaviour of trim / strip
    ("[{{ s | trim }}][{{ s.strip() }}][{{ s.split() }}]", {"s": "\u3000\xa0\x1c x \u200b y \u2028\x85\u2003"}),
    ("[{{ s | upper }}][{{ s | lower }}][{{ s | title }}][{{ s.title() }}][{{ s | capitalize }}]", {"s": "éLAN straße ΑΒΓ δέλτα ПРИВЕТ мир"}),
    # global functions
    ("{{ raise_exception('boom: ' ~ messages | length) }}", {}),
    ("{{ strftime_now('%Y-%m-%d %A %B %j %b %d %H:%M') }}", {}),
    ("{{ dict(a=1, b='x') }} {{ namespace(a=1).a }} {{ range(3) | list }}", {}),
    # errors Jinja2 raises
    ("{{ 1 + 'a' }}", {}), ("{{ 'a' + 1 }}", {}), ("{{ 1 / 0 }}", {}), ("{{ [1] | tojson(indent=x) }}", {"x": []}),
    ("{{ x | tojson }}", {}), ("{{ 'a' < 1 }}", {}), ("{{ messages.append(1) }}", {}), ("{{ m.update({}) }}", {"m": {}}),
    ("{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}), ("{{ 1 in 5 }}", {}), ("{{ none | length }}", {}),
    ("{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}", {}), ("{{ 'x' is divisibleby 2 }}", {}), ("{{ '' | first | upper }}", {}),
    # a slice is a raw Python subscript at run time (all-literal ones are constant-folded by Jinja2: not modelled)
    ("{{ l[1.0] }}|{{ s[x:] }}", {"l": [1, 2], "s": "ab", "x": None}), ("{{ s[1:x] }}", {"s": "ab", "x": "x"}),
    ("{{ d[1:2] }}", {"d": {"a": 1}}), ("{{ n[1:] }}", {"n": 5}), ("{{ s[u:] }}", {"s": "ab"}), ("{{ s[::z] }}", {"s": "ab", "z": 0}),
    ("{% for x in [1] %}{% break %}{% endfor %}{% break %}", {}), ("{{ none(1) }}", {}), ("{{ 'abc'.nope() }}", {}),
]
FEATURES += [
    ("{% if x: %}a{% elif y: %}b{% else: %}c{% endif %}{% for i in [1]: %}{{ i }}{% else: %}{% endfor %}", {"x": 0, "y": 1}),
    ("{% macro m(): %}M{% endmacro %}{{ m() }}{% set b: %}B{% endset %}{{ b }}", {}),
    ("{% if 1 if x else 0 %}t{% endif %}", {"x": 1}), ("{% if 1, 2 %}tuple{% endif %}", {}),
    ("{{ l[1|string:] }}|{{ l['a':] }}", {"l": [1, 2]}),
    # unknown filters/tests: compile-time errors except in if-statements and inline if-expressions
    ("{% if false %}{{ x | nosuch }}{% endif %}ok", {}), ("{% if true %}{{ x | nosuch }}{% endif %}", {}),
    ("{{ 1 if true else x | nosuch }}", {}), ("{{ 1 if x is nosuch else 2 }}", {}),
    ("{% if 'nosuch' is filter %}{{ x | nosuch }}{% else %}guarded{% endif %}", {}),
    ("{% if true %}{% for i in [] %}{{ i | nosuch }}{% endfor %}{% endif %}", {}),
    ("{% if true %}{% macro m() %}{{ 1 | nosuch }}{% endmacro %}{% endif %}", {}),
    ("{% if true %}{% set v %}{{ 1 | nosuch }}{% endset %}{% endif %}", {}),
    ("{% if true %}{% set v = 1 | nosuch %}{% endif %}", {}),
    ("{% for i in [] %}{% else %}{{ 1 | nosuch }}{% endfor %}", {}),
    ("{% if false %}{% for i in [] %}{% else %}{{ 1 | nosuch }}{% endfor %}{% endif %}", {}),
]
SYNTAX_ERRORS = ["{{ x ", "{% if x %}", "{% for x in y %}", "{% endif %}", "{{ x | nosuchfilter }}", "{{ x is nosuchtest }}",
                 "{% nosuchtag %}", "{{ 'unterminated }}", "{# never closed", "{{ (1 }}", "{{ 1 + }}", "{% set %}",
                 "{% if %}{% endif %}", "{{ x ]] }}", "{% for %}{% endfor %}", "{% macro %}{% endmacro %}",
                 "{{ }}", "{{ x.  }}", "{{ \"\\x4\" }}", "{% else %}"]


def reference(source, variables, today):
    try:
        template = compile_like_transformers(source, today)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    try:
        return {"rendered": template.render(bos_token="<s>", eos_token="</s>", tools=None, documents=None, **variables)}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}


def kvlm_render(kvlm, model_dir, source, variables):
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "chat_template.jinja").write_text(source, encoding="utf-8", newline="")
    (model_dir / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    request = dict(variables)
    request.setdefault("messages", [])
    request.setdefault("add_generation_prompt", False)
    try:
        proc = subprocess.run([kvlm, "template", "-m", str(model_dir), "--jsonl", "--date", DATE],
                              input=(json.dumps(request, ensure_ascii=False) + "\n").encode(), capture_output=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return {"crash": "timed out"}
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode < 0 or proc.returncode > 2:
        return {"crash": f"exit status {proc.returncode}: {stderr}"}
    if proc.returncode != 0:
        if stderr.count("\n") != 1:
            return {"crash": f"error message is not one line: {stderr!r}"}
        return {"error": stderr.strip()}
    lines = proc.stdout.decode("utf-8").split("\n")
    if len(lines) != 2 or lines[1] != "":
        return {"crash": f"expected one reply line, got {proc.stdout!r}"}
    return json.loads(lines[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kvlm", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    workdir = Path(args.workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    today = datetime.datetime.strptime(DATE, "%Y-%m-%d")
    cases = [(src, dict(v, messages=M)) for src, v in FEATURES] + [(src, {}) for src in SYNTAX_ERRORS]
    failures = 0
    n_errors = 0
    for i, (source, variables) in enumerate(cases):
        want = reference(source, variables, today)
        got = kvlm_render(args.kvlm, workdir / f"t{i}", source, variables)
        n_errors += "error" in want
        ok = ("error" in want and "error" in got) or want == got
        if not ok:
            failures += 1
            print(f"\nMISMATCH #{i}: template {source!r}", file=sys.stderr)
            print(f"  variables: {json.dumps(variables, ensure_ascii=False)[:300]}", file=sys.stderr)
            print(f"  jinja2: {json.dumps(want, ensure_ascii=False)}", file=sys.stderr)
            print(f"  kvlm:   {json.dumps(got, ensure_ascii=False)}", file=sys.stderr)
    print(f"{len(cases)} feature templates ({n_errors} where Jinja2 raises), {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
