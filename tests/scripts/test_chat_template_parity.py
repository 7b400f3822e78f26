#!/usr/bin/env python3
"""Chat-template parity: `kvlm template` against Jinja2 run as transformers runs it.

For each fixture template (Llama 3.1, Llama 3.2, Qwen 2.5, Gemma 2) this
generates a deterministic set of conversations (system prompt or not, 1-4
turns, Unicode, surrounding whitespace, template-like text, tools and tool
calls where the template supports them, and conversations the template must
reject), renders each with add_generation_prompt on and off through Jinja2
configured exactly like transformers' apply_chat_template
(ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, tojson with
ensure_ascii=False, raise_exception, strftime_now at a fixed date), and
requires `kvlm template --jsonl` to give byte-identical text, or an error
wherever Jinja2 raises. The expected outputs come from Jinja2 only.
"""
import argparse
import datetime
import difflib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "tests" / "fixtures" / "templates"
LLAMA32_DIR = ROOT / "data" / "llama-3.2-1b-instruct"
CONVERSATIONS_PER_TEMPLATE = 150


# --------------------------------------------------------------- reference

def compile_like_transformers(source, today):
    """transformers.utils.chat_template_utils._compile_jinja_template."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return today.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def reference_render(template, case, special_tokens):
    """apply_chat_template's render call: messages, tools, documents,
    add_generation_prompt, the special tokens map, then the extra kwargs."""
    extra = {k: v for k, v in case.items() if k not in ("messages", "add_generation_prompt", "tools")}
    try:
        text = template.render(messages=case["messages"], tools=case.get("tools"), documents=None,
                               add_generation_prompt=case["add_generation_prompt"], **special_tokens, **extra)
        return {"rendered": text}
    except Exception as e:  # any exception makes transformers fail
        return {"error": f"{type(e).__name__}: {e}"}


# ------------------------------------------------------------- generators

WORDS = ["hello", "world", "translate", "the", "meeting", "is", "at", "noon", "please", "summarise", "this",
         "Bonjour", "le", "monde", "Guten", "Tag", "naïve", "café", "Straße", "日本語", "中文", "テキスト",
         "Привет", "мир", "مرحبا", "بالعالم", "हिन्दी", "नमस्ते", "한국어", "ελληνικά", "👩‍👩‍👧‍👦", "🇫🇷", "😀",
         "🤖", "x²", "½", "∑", "e\u0301", "ﬁ"]
TRICKY = ["{{ x }}", "{% if %}", "{% endfor %}", "{#", "#}", "{{", "}}", "{%- raw -%}", "{{- bos_token }}",
          "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>", "<|begin_of_text|>", "<start_of_turn>",
          "<end_of_turn>", "<|im_start|>", "<|im_end|>", "<tool_call>", '"quoted"', "it's", "back\\slash",
          "\\n literal", "tab\there", "line\nbreak", "crlf\r\nline", "%s %d", "{0}", "None", "null", "true",
          "\u200b", "\ufeff", "\x00", "\x7f", "\u2028"]
SPACES = [" ", "  ", "\n", "\n\n", "\t", " \n ", "\u3000", "\xa0", "\u2003", "\x0b", "\x0c", "\x1c", "\x85", "\r\n"]


def content(rng):
    if rng.random() < 0.04:
        return ""
    parts = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        parts.append(rng.choice(TRICKY) if r < 0.2 else rng.choice(WORDS))
    text = "".join(p + rng.choice([" ", " ", " ", "\n", ", ", ". ", ""]) for p in parts).strip(" ")
    if rng.random() < 0.35:
        text = "".join(rng.choice(SPACES) for _ in range(rng.randint(1, 3))) + text
    if rng.random() < 0.35:
        text = text + "".join(rng.choice(SPACES) for _ in range(rng.randint(1, 3)))
    return text


def json_value(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.45:
        return rng.choice([0, 1, -7, 42, 2**40, 0.5, -2.25, 1e-7, 1e21, 100.0, 3.14159, 1.5e300, True, False, None,
                           "", "text", "naïve ☕", "日本", "quote\"back\\slash", "line\nbreak", "tab\t", "\u2028",
                           "<|eot_id|>", "{{ x }}"])
    if r < 0.7:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "b", "name", "ключ", "キー", "z", "type", "value"]) + str(i): json_value(rng, depth + 1)
            for i in range(rng.randint(0, 3))}


def tool_schema(rng, i):
    props = {}
    for j in range(rng.randint(0, 3)):
        p = {"type": rng.choice(["string", "number", "integer", "boolean", "array", "object"]),
             "description": content(rng)}
        if rng.random() < 0.3:
            p["enum"] = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.2:
            p["default"] = json_value(rng)
        props[f"arg_{j}_{rng.choice(WORDS)}"] = p
    fn = {"name": f"tool_{i}_{rng.choice(['get_weather', 'search', 'translate', 'calc'])}",
          "description": content(rng),
          "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}
    if rng.random() < 0.15:
        return fn  # a bare function schema, as some callers pass
    return {"type": "function", "function": fn}


def tool_call(rng, tools, wrapped=True, string_args=False):
    name = (rng.choice(tools).get("function", {}).get("name") if tools else None) or "lookup"
    args = {f"arg{k}": json_value(rng) for k in range(rng.randint(0, 3))}
    fn = {"name": name, "arguments": json.dumps(args, ensure_ascii=False) if string_args else args}
    return {"type": "function", "function": fn} if wrapped else fn


def turns(rng, n_turns, end_with_user):
    msgs = []
    for t in range(n_turns):
        msgs.append({"role": "user", "content": content(rng)})
        if t < n_turns - 1 or not end_with_user:
            msgs.append({"role": "assistant", "content": content(rng)})
    return msgs


def llama_conversation(rng, version):
    case = {}
    msgs = []
    if rng.random() < 0.5:
        msgs.append({"role": "system", "content": content(rng)})
    msgs += turns(rng, rng.randint(1, 4), rng.random() < 0.7)
    tools = None
    if rng.random() < 0.35:
        tools = [tool_schema(rng, i) for i in range(rng.randint(1, 3))]
        case["tools"] = tools
        if rng.random() < 0.4:
            case["tools_in_user_message"] = False
    if rng.random() < 0.3:  # a tool call round trip
        call = {"role": "assistant", "tool_calls": [tool_call(rng, tools)]}
        if rng.random() < 0.1:
            call["tool_calls"].append(tool_call(rng, tools))  # the template refuses several calls
        result = rng.choice([content(rng), {"temperature": json_value(rng), "unit": "°C"}, [1, 2, "três"], 42])
        msgs += [call, {"role": rng.choice(["tool", "ipython"]), "content": result},
                 {"role": "user", "content": content(rng)}]
    if version == "3.1" and rng.random() < 0.2:
        case["builtin_tools"] = rng.sample(["brave_search", "wolfram_alpha", "code_interpreter"], rng.randint(1, 3))
        if rng.random() < 0.5:
            args = {"query": content(rng)} if rng.random() < 0.8 else {"query": 3}
            msgs += [{"role": "assistant", "tool_calls": [{"type": "function", "function": {
                "name": case["builtin_tools"][0], "arguments": args}}]}]
    if rng.random() < 0.15:
        case["date_string"] = rng.choice(["01 Jan 2025", "31 Dec 1999", "٢٠٢٤"])
    if rng.random() < 0.05:
        case["custom_tools"] = [tool_schema(rng, 9)]
    if rng.random() < 0.04:
        msgs = msgs[:1] if msgs and msgs[0]["role"] == "system" else []  # nothing for tools to attach to
    case["messages"] = msgs
    return case


def qwen_conversation(rng):
    case = {}
    msgs = []
    if rng.random() < 0.5:
        msgs.append({"role": "system", "content": content(rng)})
    msgs += turns(rng, rng.randint(1, 4), rng.random() < 0.7)
    tools = None
    if rng.random() < 0.4:
        tools = [tool_schema(rng, i) for i in range(rng.randint(1, 3))]
        case["tools"] = tools
    if rng.random() < 0.35:
        calls = [tool_call(rng, tools, wrapped=rng.random() < 0.8, string_args=rng.random() < 0.3)
                 for _ in range(rng.randint(1, 3))]
        msgs.append({"role": "assistant", "content": content(rng) if rng.random() < 0.5 else "", "tool_calls": calls})
        for _ in range(rng.randint(1, 3)):
            msgs.append({"role": "tool", "content": content(rng)})
        if rng.random() < 0.6:
            msgs.append({"role": "user", "content": content(rng)})
    if rng.random() < 0.1:
        msgs.insert(rng.randint(1, len(msgs)), {"role": "system", "content": content(rng)})
    if rng.random() < 0.05:
        msgs.append({"role": "tool", "content": {"k": 1, "list": [1.5, None, True]}})  # printed as a Python repr
    case["messages"] = msgs
    return case


def gemma_conversation(rng):
    msgs = turns(rng, rng.randint(1, 4), rng.random() < 0.7)
    r = rng.random()
    if r < 0.1:
        msgs.insert(0, {"role": "system", "content": content(rng)})  # unsupported: must raise
    elif r < 0.2 and len(msgs) > 1:
        i = rng.randrange(len(msgs))
        msgs[i] = dict(msgs[i], role="assistant" if msgs[i]["role"] == "user" else "user")  # breaks alternation
    return {"messages": msgs}


# ------------------------------------------------------------------- runner

class Model:
    def __init__(self, name, path, source, special_tokens, make_case):
        self.name, self.path, self.source, self.special_tokens, self.make_case = (
            name, path, source, special_tokens, make_case)


def setup_models(workdir):
    def tokens(bos, eos):
        return {k: v for k, v in (("bos_token", bos), ("eos_token", eos)) if v is not None}

    models = []
    cfg = json.loads((LLAMA32_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
    models.append(Model("llama-3.2 (data/llama-3.2-1b-instruct)", LLAMA32_DIR,
                        (LLAMA32_DIR / "chat_template.jinja").read_text(encoding="utf-8"),
                        tokens(cfg["bos_token"], cfg["eos_token"]), lambda rng: llama_conversation(rng, "3.2")))

    def temp_model(dirname, template_file, bos, eos, in_config, make_case):
        d = workdir / dirname
        d.mkdir(parents=True, exist_ok=True)
        source = (TEMPLATES / template_file).read_text(encoding="utf-8")
        config = {"bos_token": {"content": bos, "lstrip": False} if bos and in_config else bos, "eos_token": eos}
        if in_config:  # the template lives in tokenizer_config.json, as in older model repos
            config["chat_template"] = source
        else:
            (d / "chat_template.jinja").write_text(source, encoding="utf-8")
        (d / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        models.append(Model(dirname, d, source, tokens(bos, eos), make_case))

    temp_model("llama-3.2", "llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", False,
               lambda rng: llama_conversation(rng, "3.2"))
    temp_model("llama-3.1", "llama-3.1-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", False,
               lambda rng: llama_conversation(rng, "3.1"))
    temp_model("qwen2.5", "qwen2.5-instruct.jinja", None, "<|im_end|>", False, qwen_conversation)
    temp_model("gemma-2", "gemma-2-it.jinja", "<bos>", "<eos>", True, gemma_conversation)
    return models


def show_mismatch(model, case, want, got):
    print(f"\nMISMATCH in {model.name}", file=sys.stderr)
    print("request: " + json.dumps(case, ensure_ascii=False), file=sys.stderr)
    if "rendered" in want and "rendered" in got:
        a, b = want["rendered"], got["rendered"]
        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        print(f"first difference at character {i}:", file=sys.stderr)
        print(f"  jinja2: {a[max(0, i - 40):i + 40]!r}", file=sys.stderr)
        print(f"  kvlm:   {b[max(0, i - 40):i + 40]!r}", file=sys.stderr)
        for line in difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True), "jinja2", "kvlm", n=1):
            sys.stderr.write(line if line.endswith("\n") else line + "\n")
    else:
        print(f"  jinja2: {json.dumps(want, ensure_ascii=False)[:600]}", file=sys.stderr)
        print(f"  kvlm:   {json.dumps(got, ensure_ascii=False)[:600]}", file=sys.stderr)


def run_jsonl(kvlm, model_dir, date, cases):
    stdin = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    proc = subprocess.run([kvlm, "template", "-m", str(model_dir), "--jsonl", "--date", date],
                          input=stdin.encode("utf-8"), capture_output=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"kvlm template --jsonl failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    lines = proc.stdout.decode("utf-8").split("\n")  # not splitlines(): U+2028 may appear raw inside JSON
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != len(cases):
        sys.exit(f"kvlm template --jsonl gave {len(lines)} lines for {len(cases)} requests")
    return [json.loads(line) for line in lines]


def check_messages_mode(kvlm, model, workdir, date, today, rng):
    """--messages FILE.json (list or object form) and --no-generation-prompt."""
    template = compile_like_transformers(model.source, today)
    failures = 0
    checked = 0
    for i in range(6):
        case = model.make_case(rng)
        agp = i % 2 == 0
        want = reference_render(template, dict(case, add_generation_prompt=agp), model.special_tokens)
        if "rendered" not in want:
            continue
        path = workdir / f"messages_{i}.json"
        payload = case if (len(case) > 1 or i % 3 == 0) else case["messages"]
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        cmd = [kvlm, "template", "-m", str(model.path), "--messages", str(path), "--date", date]
        if not agp:
            cmd.append("--no-generation-prompt")
        proc = subprocess.run(cmd, capture_output=True, timeout=60)
        checked += 1
        got = ({"rendered": proc.stdout.decode("utf-8")} if proc.returncode == 0
               else {"error": proc.stderr.decode(errors="replace")})
        if got != want:
            failures += 1
            show_mismatch(model, dict(case, add_generation_prompt=agp), want, got)
    return checked, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kvlm", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--per-template", type=int, default=CONVERSATIONS_PER_TEMPLATE)
    args = ap.parse_args()
    workdir = Path(args.workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)

    total = mismatches = errors_expected = 0
    for m_index, model in enumerate(setup_models(workdir)):
        rng = random.Random(1000 + m_index)
        date = ["2024-09-05", "2025-02-28", "2024-07-26", "2023-12-31", "2026-01-01"][m_index % 5]
        today = datetime.datetime.strptime(date, "%Y-%m-%d")
        template = compile_like_transformers(model.source, today)
        cases = []
        for _ in range(args.per_template):
            conv = model.make_case(rng)
            for agp in (True, False):
                cases.append(dict(conv, add_generation_prompt=agp))
        want = [reference_render(template, c, model.special_tokens) for c in cases]
        got = run_jsonl(args.kvlm, model.path, date, cases)
        bad = 0
        for case, w, g in zip(cases, want, got):
            ok = ("error" in w and "error" in g and "rendered" not in g) or (w == g)
            if not ok:
                bad += 1
                if bad <= 3:
                    show_mismatch(model, case, w, g)
        n_err = sum("error" in w for w in want)
        checked, cli_bad = check_messages_mode(args.kvlm, model, workdir, date, today, rng)
        print(f"{model.name:40s} {len(cases)} renders ({n_err} expected errors), {bad} mismatches; "
              f"--messages: {checked} checked, {cli_bad} mismatches")
        total += len(cases) + checked
        mismatches += bad + cli_bad
        errors_expected += n_err
    print(f"total: {total} renders, {errors_expected} expected errors, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
