"""GGUF files built byte by byte: a valid tiny llama (with a gpt2 tokenizer)
runs and gives the logits of the same weights as a Hugging Face directory;
then broken variants (truncations, bad counts, lengths, types, shapes,
offsets, alignments, metadata) must each give exactly one clear error line
and a non-zero exit from run, info and tokenize: never a signal, never a hang.
Also checks the fuzzer's seed corpus (tests/fuzz/corpus/gguf) still loads.

`test_gguf_bad_inputs.py --write-corpus` rewrites that seed corpus."""
import json
import os
import struct
import subprocess
import sys

import numpy as np

import safetensors_util as st
from kvlm_test_util import SOURCE_DIR, Checker

CORPUS = os.path.join(SOURCE_DIR, "tests", "fuzz", "corpus", "gguf")

# --- a GGUF writer ------------------------------------------------------------------------------------------------

# Metadata value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
# ggml tensor types.
GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
_PACK = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q",
         F64: "<d"}


def gstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def value(vtype, v):
    """The bytes of a metadata value (without its type); an array is (element type, [values])."""
    if vtype == STR:
        return gstr(v)
    if vtype == ARR:
        etype, items = v
        return struct.pack("<IQ", etype, len(items)) + b"".join(value(etype, x) for x in items)
    return struct.pack(_PACK[vtype], v)


class Gguf:
    """Metadata (ordered key -> (type, value) or raw bytes) and tensors; build() lays the file out as llama.cpp does."""

    def __init__(self):
        self.kv = {}
        self.tensors = []  # dicts: name, dims (ggml order), type, data (bytes)

    def copy(self):
        g = Gguf()
        g.kv = dict(self.kv)
        g.tensors = [dict(t) for t in self.tensors]
        return g

    def set(self, key, vtype, v=None):
        """A typed value, or (vtype only) the raw bytes of the value's type and value."""
        self.kv[key] = vtype if isinstance(vtype, bytes) else (vtype, v)
        return self

    def drop(self, key):
        del self.kv[key]
        return self

    def tensor(self, name):
        return next(t for t in self.tensors if t["name"] == name)

    def add_tensor(self, name, array, ggml_type=GGML_F32):
        a = np.ascontiguousarray(array)
        data = a.astype("<f4" if ggml_type == GGML_F32 else "<f2").tobytes() if ggml_type in (GGML_F32, GGML_F16) \
            else q8_0(a)
        self.tensors.append({"name": name, "dims": list(reversed(a.shape)), "type": ggml_type, "data": data})

    def build(self, version=3, alignment=None, tensor_count=None, kv_count=None, extra_kv=b""):
        """The file's bytes, and where its parts start: {"tensor_infos", "data", tensor name: its data}."""
        align = alignment or (self.kv["general.alignment"][1] if "general.alignment" in self.kv else 32)
        out = bytearray(b"GGUF" + struct.pack("<I", version))
        out += struct.pack("<QQ", len(self.tensors) if tensor_count is None else tensor_count,
                           len(self.kv) + (1 if extra_kv else 0) if kv_count is None else kv_count)
        for key, v in self.kv.items():
            out += gstr(key) + (v if isinstance(v, bytes) else struct.pack("<I", v[0]) + value(*v))
        out += extra_kv
        where = {"tensor_infos": len(out)}
        natural = []  # where each tensor's data goes; an "offset" field only changes what the info says
        offset = 0
        for t in self.tensors:
            natural.append(offset)
            out += gstr(t["name"]) + struct.pack("<I", len(t["dims"])) + struct.pack(f"<{len(t['dims'])}Q", *t["dims"])
            out += struct.pack("<IQ", t["type"], t.get("offset", offset))
            offset = (offset + len(t["data"]) + align - 1) // align * align
        out += bytes(-len(out) % align)
        where["data"] = len(out)
        data = bytearray(offset)
        for t, at in zip(self.tensors, natural):
            data[at:at + len(t["data"])] = t["data"]
            where[t["name"]] = where["data"] + at
        return bytes(out + data), where


def q8_0(a):
    """ggml Q8_0 blocks (an f16 scale, 32 int8) of a float array whose rows are whole blocks."""
    x = a.astype(np.float32).reshape(-1, 32)
    d = np.abs(x).max(axis=1) / 127
    q = np.round(x / np.where(d == 0, 1, d)[:, None]).astype(np.int8)
    blocks = np.zeros(len(x), dtype=[("d", "<f2"), ("q", "i1", 32)])
    blocks["d"], blocks["q"] = d, q
    return blocks.tobytes()


def byte_chars():
    """GPT-2's bytes_to_unicode: the printable character each byte stands for."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def permute_rope(w, heads):
    """Hugging Face rotate-half rows -> llama.cpp's interleaved rows (convert_hf_to_gguf's permute)."""
    rows, cols = w.shape
    return w.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def llama_gguf(weights, cfg, arch="llama", ggml_type=GGML_F32):
    """A GGUF of Hugging Face `weights` (name -> array) with config `cfg`, no tokenizer."""
    g = Gguf()
    g.set("general.architecture", STR, arch)
    g.set("general.name", STR, "kvlm test")
    g.set(f"{arch}.block_count", U32, cfg["num_hidden_layers"])
    g.set(f"{arch}.context_length", U32, cfg["max_position_embeddings"])
    g.set(f"{arch}.embedding_length", U32, cfg["hidden_size"])
    g.set(f"{arch}.feed_forward_length", U32, cfg["intermediate_size"])
    g.set(f"{arch}.attention.head_count", U32, cfg["num_attention_heads"])
    g.set(f"{arch}.attention.head_count_kv", U32, cfg["num_key_value_heads"])
    g.set(f"{arch}.rope.freq_base", F32, cfg["rope_theta"])
    g.set(f"{arch}.attention.layer_norm_rms_epsilon", F32, cfg["rms_norm_eps"])
    g.set(f"{arch}.vocab_size", U32, cfg["vocab_size"])
    if "head_dim" in cfg:
        g.set(f"{arch}.attention.key_length", U32, cfg["head_dim"])
        g.set(f"{arch}.attention.value_length", U32, cfg["head_dim"])
    g.set("general.alignment", U32, 32)
    g.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"], ggml_type)
    g.add_tensor("output_norm.weight", weights["model.norm.weight"])
    for layer in range(cfg["num_hidden_layers"]):
        p, b = f"model.layers.{layer}.", f"blk.{layer}."
        g.add_tensor(b + "attn_norm.weight", weights[p + "input_layernorm.weight"])
        for hf, name, heads in [("q_proj", "attn_q", cfg["num_attention_heads"]),
                                ("k_proj", "attn_k", cfg["num_key_value_heads"]), ("v_proj", "attn_v", 0)]:
            w = weights[p + f"self_attn.{hf}.weight"]
            g.add_tensor(b + name + ".weight", permute_rope(w, heads) if heads and arch == "llama" else w, ggml_type)
            if p + f"self_attn.{hf}.bias" in weights:
                g.add_tensor(b + name + ".bias", weights[p + f"self_attn.{hf}.bias"])
        g.add_tensor(b + "attn_output.weight", weights[p + "self_attn.o_proj.weight"], ggml_type)
        g.add_tensor(b + "ffn_norm.weight", weights[p + "post_attention_layernorm.weight"])
        g.add_tensor(b + "ffn_gate.weight", weights[p + "mlp.gate_proj.weight"], ggml_type)
        g.add_tensor(b + "ffn_up.weight", weights[p + "mlp.up_proj.weight"], ggml_type)
        g.add_tensor(b + "ffn_down.weight", weights[p + "mlp.down_proj.weight"], ggml_type)
    return g


def add_gpt2_tokenizer(g, vocab, pre="gpt-2", letters="abcdefghijklmnop", n_bytes=256):
    """A byte-level BPE: the first `n_bytes` byte characters, then merges of letter pairs up to `vocab` tokens."""
    tokens = byte_chars()[:n_bytes]
    merges = [f"{a} {b}" for a in letters for b in letters][: vocab - n_bytes]
    tokens += [m.replace(" ", "") for m in merges]
    g.set("tokenizer.ggml.model", STR, "gpt2")
    g.set("tokenizer.ggml.pre", STR, pre)
    g.set("tokenizer.ggml.tokens", ARR, (STR, tokens))
    g.set("tokenizer.ggml.token_type", ARR, (I32, [1] * len(tokens)))
    g.set("tokenizer.ggml.merges", ARR, (STR, merges))
    return g


def add_spm_tokenizer(g, vocab):
    """A SentencePiece vocabulary: <unk>, <s>, </s>, the byte tokens, then pieces scored by length."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    pieces = ["\u2581"] + list("abcdefgh") + ["\u2581" + a for a in "abcd"] + [a + b for a in "abcd" for b in "abcd"]
    tokens += pieces[: vocab - len(tokens)]
    types = [2, 3, 3] + [6] * 256 + [1] * (len(tokens) - 259)
    scores = [0.0] * 259 + [-float(i) for i in range(len(tokens) - 259)]
    g.set("tokenizer.ggml.model", STR, "llama")
    g.set("tokenizer.ggml.tokens", ARR, (STR, tokens))
    g.set("tokenizer.ggml.scores", ARR, (F32, scores))
    g.set("tokenizer.ggml.token_type", ARR, (I32, types))
    g.set("tokenizer.ggml.bos_token_id", U32, 1)
    g.set("tokenizer.ggml.eos_token_id", U32, 2)
    g.set("tokenizer.ggml.unknown_token_id", U32, 0)
    g.set("tokenizer.ggml.add_bos_token", BOOL, True)
    return g


def random_weights(rng, cfg, bias=False):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    D = H // cfg["num_attention_heads"]
    Q, K = cfg["num_attention_heads"] * D, cfg["num_key_value_heads"] * D
    w = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, H)), "model.norm.weight": rng.normal(1, 0.1, H)}
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        for name, shape in [("input_layernorm.weight", H), ("post_attention_layernorm.weight", H),
                            ("self_attn.q_proj.weight", (Q, H)), ("self_attn.k_proj.weight", (K, H)),
                            ("self_attn.v_proj.weight", (K, H)), ("self_attn.o_proj.weight", (H, Q)),
                            ("mlp.gate_proj.weight", (I, H)), ("mlp.up_proj.weight", (I, H)),
                            ("mlp.down_proj.weight", (H, I))]:
            w[p + name] = rng.normal(1 if "norm" in name else 0, 0.1 if "norm" in name else 0.3, shape)
        if bias:
            for name, n in [("q_proj", Q), ("k_proj", K), ("v_proj", K)]:
                w[p + f"self_attn.{name}.bias"] = rng.normal(0, 0.1, n)
    return {k: np.asarray(v, dtype=np.float32) for k, v in w.items()}


def write_corpus():
    """Small valid GGUFs (each well under 20 KB) for the fuzzer to start from."""
    rng = np.random.default_rng(7)
    os.makedirs(CORPUS, exist_ok=True)
    cfg = {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
           "num_key_value_heads": 1, "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5}
    files = {}
    # llama, f32, no tokenizer.
    files["llama-f32-notok.gguf"] = llama_gguf(random_weights(rng, dict(cfg, vocab_size=16)), dict(cfg, vocab_size=16))
    # llama, f16, gpt2 tokenizer (llama-bpe), control tokens, chat template, sampling, version 2.
    g = llama_gguf(random_weights(rng, dict(cfg, vocab_size=260)), dict(cfg, vocab_size=260), ggml_type=GGML_F16)
    g.drop("llama.vocab_size")
    add_gpt2_tokenizer(g, 260, pre="llama-bpe")
    g.set("tokenizer.ggml.tokens", ARR, (STR, byte_chars() + ["ab", "<|begin_of_text|>", "<|eot_id|>", "<|end|>"]))
    g.set("tokenizer.ggml.merges", ARR, (STR, ["a b"]))
    g.set("tokenizer.ggml.token_type", ARR, (I32, [1] * 257 + [3, 3, 4]))
    g.set("tokenizer.ggml.bos_token_id", U32, 257)
    g.set("tokenizer.ggml.eos_token_id", U32, 258)
    g.set("tokenizer.ggml.add_bos_token", BOOL, True)
    g.set("tokenizer.chat_template", STR, "{% for m in messages %}{{ m['content'] }}{% endfor %}")
    g.set("general.sampling.temp", F32, 0.7)
    g.set("general.sampling.top_k", I32, 40)
    g.set("general.sampling.top_p", F32, 0.9)
    files["llama-f16-gpt2.gguf"] = (g, 2)
    # qwen2, q8_0 matrices, biases, gpt2 tokenizer (qwen2), alignment 64.
    qcfg = dict(cfg, hidden_size=32, intermediate_size=32, num_attention_heads=4, num_key_value_heads=2,
                vocab_size=136)
    g = llama_gguf(random_weights(rng, qcfg, bias=True), qcfg, arch="qwen2", ggml_type=GGML_Q8_0)
    g.set("general.alignment", U32, 64)
    add_gpt2_tokenizer(g, 136, pre="qwen2", n_bytes=128)
    g.set("tokenizer.ggml.eos_token_id", U32, 128)
    files["qwen2-q8_0-gpt2.gguf"] = g
    # llama, SentencePiece tokenizer, rope_freqs, head_dim and rope dims given, an array of arrays.
    g = llama_gguf(random_weights(rng, dict(cfg, vocab_size=288)), dict(cfg, vocab_size=288))
    add_spm_tokenizer(g, 288)
    g.set("llama.attention.key_length", U32, 4)
    g.set("llama.attention.value_length", U32, 4)
    g.set("llama.rope.dimension_count", U32, 4)
    g.set("general.tags", ARR, (ARR, [(STR, ["a", "b"]), (U8, [1, 2])]))
    g.set("general.misc", ARR, (F64, [1.5, -2.0]))
    g.add_tensor("rope_freqs.weight", np.array([1.0, 2.0], dtype=np.float32))
    files["llama-f32-spm.gguf"] = g
    for name, g in files.items():
        g, version = g if isinstance(g, tuple) else (g, 3)
        raw, _ = g.build(version=version)
        assert len(raw) < 20000, (name, len(raw))
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(raw)
        print(f"wrote {name} ({len(raw)} bytes)")


if __name__ == "__main__" and "--write-corpus" in sys.argv:
    write_corpus()
    sys.exit(0)

# --- the tests ----------------------------------------------------------------------------------------------------
from kvlm_test_util import parse_args, run  # noqa: E402

args = parse_args()
c = Checker()
TIMEOUT = 60

hf = os.path.join(args.workdir, "hf")
run([args.kvlm, "synth", "--shape", "tiny-llama", "--dtype", "f32", "--seed", "11", "-o", hf])
cfg = json.load(open(os.path.join(hf, "config.json")))
# The GGUF carries no rope_freqs tensor: compare against the same model without llama3 rope scaling.
cfg.pop("rope_scaling", None)
json.dump(cfg, open(os.path.join(hf, "config.json"), "w"))
header, data = st.read(os.path.join(hf, "model.safetensors"))
weights = {}
for name, t in header.items():
    if name != "__metadata__":
        begin, end = t["data_offsets"]
        weights[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])

base = llama_gguf(weights, cfg)
add_gpt2_tokenizer(base, cfg["vocab_size"])
good, layout = base.build()
N_TOKENS = cfg["vocab_size"]


def write(name, raw):
    path = os.path.join(args.workdir, name + ".gguf")
    with open(path, "wb") as f:
        f.write(raw)
    return path


def kvlm(*cmd):
    try:
        return subprocess.run([args.kvlm, *cmd], capture_output=True, text=True, timeout=TIMEOUT, errors="replace")
    except subprocess.TimeoutExpired:
        return None


# The commands each broken file goes through, with their arguments after -m FILE.
COMMANDS = {"run": ("--ids", "1,2,3", "-n", "2", "--temp", "0"), "info": (), "tokenize": ("abc",)}


def ok(proc):
    return proc is not None and proc.returncode == 0


# --- the valid file ---
path = write("good", good)
ids = "1,2,3,300,511"
logits = {}
for name, model in [("hf", hf), ("gguf", path)]:
    out = os.path.join(args.workdir, f"logits-{name}.bin")
    run([args.kvlm, "run", "-m", model, "--ids", ids, "-n", "0", "--dtype", "f32", "--logits-out", out])
    logits[name] = np.fromfile(out, dtype=np.float32)
# Same f32 weights (q/k rows permuted there and back), same kernels: the same logits.
c.check(np.array_equal(logits["hf"], logits["gguf"]), "valid GGUF: logits differ from the Hugging Face directory's")
proc = kvlm("run", "-m", path, *COMMANDS["run"])
c.check(ok(proc), f"valid GGUF: run failed: {proc and proc.stderr!r}")
proc = kvlm("info", "-m", path)
c.check(ok(proc), f"valid GGUF: info failed: {proc and proc.stderr!r}")
proc = kvlm("tokenize", "-m", path, "abc ab")
c.check(ok(proc) and json.loads(proc.stdout) == [257, 99, 32, 257],
        f"valid GGUF: tokenize 'abc ab' gave {proc and (proc.stdout, proc.stderr)!r}")
# convert onto its own input must refuse, leaving the GGUF as it was.
proc = kvlm("convert", path, "-o", os.path.join(args.workdir, ".", "good.gguf"), "--dtype", "f16", "-q")
c.check(proc is not None and proc.returncode == 1 and "is the input" in proc.stderr
        and open(path, "rb").read() == good, f"convert onto its input: {proc and proc.stderr!r}")
# Alignment 1: tensor data at offsets that are no multiple of 4 gives the same logits.
g1 = base.copy().set("general.alignment", U32, 1)
g1.tensors.insert(0, {"name": "unused.weight", "dims": [3], "type": GGML_F16, "data": bytes(6)})
path1 = write("good-align1", g1.build()[0])
out = os.path.join(args.workdir, "logits-align1.bin")
proc = kvlm("run", "-m", path1, "--ids", ids, "-n", "0", "--dtype", "f32", "--logits-out", out)
c.check(ok(proc) and np.array_equal(np.fromfile(out, dtype=np.float32), logits["gguf"]),
        f"GGUF with alignment 1: run failed or logits differ: {proc and proc.stderr!r}")
# Version 2 lays out the same way.
path2 = write("good-v2", base.build(version=2)[0])
c.check(ok(kvlm("run", "-m", path2, *COMMANDS["run"])), "valid GGUF version 2 does not run")
# Each seed of the fuzzer's corpus is valid.
for name in sorted(os.listdir(CORPUS)):
    if name.endswith(".gguf"):
        proc = kvlm("run", "-m", os.path.join(CORPUS, name), *COMMANDS["run"])
        c.check(ok(proc), f"corpus {name}: run failed: {proc and proc.stderr!r}")


# --- broken files ---
def broken(name, raw, words, which=("run", "info", "tokenize")):
    """Each command in `which` on `raw` must print one "kvlm: error:" line holding every word and exit non-zero."""
    path = write(name, raw)
    for cmd in which:
        proc = kvlm(cmd, "-m", path, *COMMANDS[cmd])
        if proc is None:
            c.check(False, f"{name} ({cmd}): no answer within {TIMEOUT} s")
            continue
        lines = proc.stderr.strip().splitlines()
        ok = (proc.returncode > 0 and len(lines) == 1 and lines[0].startswith("kvlm: error: ") and
              all(w in lines[0] for w in words))
        c.check(ok, f"{name} ({cmd}): want one error line with {words}, got status {proc.returncode}: {proc.stderr!r}")
        if cmd == which[0]:
            print(f"{name:32s} -> {lines[0] if lines else ''}")


def patched(raw, at, fmt, v):
    b = bytearray(raw)
    struct.pack_into(fmt, b, at, v)
    return bytes(b)


def variant(change=None, **build):
    g = base.copy()
    if change:
        change(g)
    return g.build(**build)[0]


def tensor_change(name, **fields):
    def change(g):
        g.tensor(name).update(fields)
    return change


# A SentencePiece vocabulary with a 400 KB token: its merges come from cuts into two tokens, which
# must not cost a hash of each of its prefixes (that took minutes, quadratic in the token's length).
def long_token(g):
    tokens = ["<unk>", "a", "b", "ab"] + [f"x{i}" for i in range(N_TOKENS - 5)] + ["ab" * 200000]
    g.set("tokenizer.ggml.model", STR, "llama")
    g.set("tokenizer.ggml.tokens", ARR, (STR, tokens))
    g.set("tokenizer.ggml.scores", ARR, (F32, [-float(i) for i in range(N_TOKENS)]))
    g.drop("tokenizer.ggml.merges")


proc = kvlm("tokenize", "-m", write("spm-long-token", variant(long_token)), "--no-bos", "abab")
c.check(ok(proc), f"spm-long-token: tokenize failed: {proc and proc.stderr!r}")


NOT_GGUF = "is neither a model directory"

# Truncations: every byte through the fixed header, every few through the metadata and tensor infos,
# and a few points inside the tensor data. `info` reads the whole header as `run` does.
points = sorted(set(list(range(0, 64)) + list(range(64, layout["data"] + 8, 13)) +
                [layout["data"] + k * (len(good) - layout["data"]) // 16 for k in range(16)] + [len(good) - 1]))
for n in points:
    cut = good[:n]
    path = write("truncated", cut)
    proc = kvlm("info", "-m", path)
    lines = proc.stderr.strip().splitlines() if proc else []
    c.check(proc is not None and proc.returncode > 0 and len(lines) == 1 and lines[0].startswith("kvlm: error: ") and
            any(w in lines[0] for w in ("file ends", "past the end", "more than the file can hold", NOT_GGUF, "empty")),
            f"truncated at {n}: want one error line, got {proc and (proc.returncode, proc.stderr)!r}")
print(f"truncated at {len(points)} points: ok")
broken("truncated-header", good[:40], ["tensor count 29 is more than the file can hold"])
broken("truncated-in-version", good[:6], ["file ends inside the version"])
broken("truncated-data", good[: (layout["data"] + len(good)) // 2], ["runs past the end of the file"])

# The fixed header.
broken("bad-magic", b"GGUX" + good[4:], [NOT_GGUF], ("run", "info"))
broken("version-1", patched(good, 4, "<I", 1), ["GGUF version 1 is not supported"])
broken("version-4", patched(good, 4, "<I", 4), ["GGUF version 4 is not supported"])
broken("huge-tensor-count", patched(good, 8, "<Q", 2**63), ["tensor count", "more than the file can hold"])
broken("huge-kv-count", patched(good, 16, "<Q", 2**64 - 1), ["metadata count", "more than the file can hold"])
# One key/value more than the file holds: the first tensor info read as a key/value, whose
# type (the name's dimension count) is a u32; then a tensor name length from the bytes after it.
broken("kv-count-too-high", variant(kv_count=len(base.kv) + 1), ["a tensor name of", "runs past the end of the file"])
# One tensor more: its name and dimension count read from the zero padding before the data.
broken("tensor-count-too-high", variant(tensor_count=len(base.tensors) + 1), ["has 0 dimensions (1 to 4 allowed)"])

# Metadata.
key_at = 24  # the first key's length
broken("huge-key-length", patched(good, key_at, "<Q", 2**63), ["metadata key", "runs past the end of the file"])
broken("huge-string-length", variant(lambda g: g.set("general.name", struct.pack("<IQ", STR, 2**62) + b"x")),
       ["a string value of 4611686018427387904 bytes runs past the end of the file"])
name_len_at = good.index(gstr("general.name")) + len(gstr("general.name")) + 4
broken("string-one-past-end", patched(good, name_len_at, "<Q", len(good) - name_len_at - 8 + 1),
       ["a string value of", "runs past the end of the file"])
broken("huge-array-length", good.replace(struct.pack("<IIQ", ARR, I32, N_TOKENS), struct.pack("<IIQ", ARR, I32, 2**61), 1),
       ["tokenizer.ggml.token_type: array length", "more than the file can hold"])
broken("unknown-value-type", variant(lambda g: g.set("general.name", b"\x0d\x00\x00\x00" + gstr("x"))),
       ["metadata general.name: unknown value type 13"])
broken("unknown-array-type", variant(lambda g: g.set("general.name", struct.pack("<IIQ", ARR, 99, 0))),
       ["metadata general.name: unknown array element type 99"])
broken("bad-bool", variant(lambda g: g.set("general.name", struct.pack("<IB", BOOL, 7))), ["bool value 7"])
broken("nested-too-deep", variant(lambda g: g.set(
    "general.name", struct.pack("<I", ARR) + struct.pack("<IQ", ARR, 1) * 5 + struct.pack("<IQ", U8, 0))),
    ["nested deeper than 4"])
broken("duplicate-key", variant(extra_kv=gstr("llama.block_count") + struct.pack("<II", U32, 3)),
       ["metadata key llama.block_count appears twice"])
broken("alignment-0", variant(lambda g: g.set("general.alignment", U32, 0), alignment=32), ["general.alignment 0"])
broken("alignment-3", variant(lambda g: g.set("general.alignment", U32, 3), alignment=32), ["general.alignment 3"])
broken("alignment-string", variant(lambda g: g.set("general.alignment", STR, "32"), alignment=32),
       ["general.alignment", "string"])
broken("alignment-bad-utf8", variant(lambda g: g.set("general.alignment", STR, b"\xff\xfe"), alignment=32),
       ["general.alignment", "string"])
broken("block-count-string", variant(lambda g: g.set("llama.block_count", STR, "3")),
       ["metadata llama.block_count is a string, expected an integer"], ("run", "info"))
broken("block-count-negative", variant(lambda g: g.set("llama.block_count", I32, -3)),
       ["llama.block_count = -3 is out of range"], ("run", "info"))
broken("block-count-huge", variant(lambda g: g.set("llama.block_count", U64, 2**64 - 1)),
       ["metadata llama.block_count = 18446744073709551615 is out of range"], ("run", "info"))
broken("head-count-zero", variant(lambda g: g.set("llama.attention.head_count", U32, 0)),
       ["llama.attention.head_count = 0 is out of range"], ("run", "info"))
broken("missing-embedding-length", variant(lambda g: g.drop("llama.embedding_length")),
       ["metadata llama.embedding_length is missing"], ("run", "info"))
broken("missing-architecture", variant(lambda g: g.drop("general.architecture")),
       ["metadata general.architecture is missing"], ("run", "info"))
broken("architecture-gpt2", variant(lambda g: g.set("general.architecture", STR, "gpt2")),
       ["general.architecture 'gpt2' is not supported"], ("run", "info"))
broken("architecture-not-utf8", variant(lambda g: g.set("general.architecture", STR, b"ll\xffma")),
       ["general.architecture", "not supported"], ("run", "info"))
broken("head-count-kv-zero", variant(lambda g: g.set("llama.attention.head_count_kv", U32, 0)),
       ["num_key_value_heads", "must be a positive integer"], ("run", "info"))
broken("head-count-kv-3", variant(lambda g: g.set("llama.attention.head_count_kv", U32, 3)),
       ["num_key_value_heads", "must divide num_attention_heads"], ("run", "info"))
broken("key-length-negative", variant(lambda g: g.set("llama.attention.key_length", I32, -16)),
       ["metadata llama.attention.key_length = -16 is out of range"], ("run", "info"))
broken("value-length-differs", variant(lambda g: g.set("llama.attention.value_length", U32, 32)),
       ["value_length 32 differs from key_length 16"], ("run", "info"))
broken("vocab-size-zero", variant(lambda g: g.set("llama.vocab_size", U32, 0)),
       ["vocab_size"], ("run", "info"))
broken("context-length-huge", variant(lambda g: g.set("llama.context_length", U64, 2**40)),
       ["llama.context_length = 1099511627776 is out of range"], ("run", "info"))
broken("experts", variant(lambda g: g.set("llama.expert_count", U32, 8)),
       ["mixture-of-experts models (llama.expert_count = 8) are not supported"], ("run", "info"))
broken("rope-scaling-yarn", variant(lambda g: g.set("llama.rope.scaling.type", STR, "yarn\n")),
       ["llama.rope.scaling.type 'yarn\\x0A' is not supported"], ("run", "info"))
broken("eps-nan", variant(lambda g: g.set("llama.attention.layer_norm_rms_epsilon", F32, float("nan"))),
       ["metadata llama.attention.layer_norm_rms_epsilon is not a finite number"], ("run", "info"))
broken("eps-negative", variant(lambda g: g.set("llama.attention.layer_norm_rms_epsilon", F32, -1.0)),
       ["rms_norm_eps", "must be a positive number"], ("run", "info"))
broken("freq-base-string", variant(lambda g: g.set("llama.rope.freq_base", STR, "1e4")),
       ["llama.rope.freq_base is a string, expected a number"], ("run", "info"))

# The tokenizer.
broken("tokens-not-strings", variant(lambda g: g.set("tokenizer.ggml.tokens", ARR, (I32, list(range(N_TOKENS))))),
       ["tokenizer.ggml.tokens holds a non-string"])
broken("tokens-not-a-list", variant(lambda g: g.set("tokenizer.ggml.tokens", STR, "abc")),
       ["tokenizer.ggml.tokens is missing or not a list"])
TOKENS = base.kv["tokenizer.ggml.tokens"][1][1]
broken("token-bad-utf8", variant(lambda g: g.set("tokenizer.ggml.tokens", ARR, (
    STR, TOKENS[:300] + [b"a\xc3"] + TOKENS[301:]))), ["tokenizer.ggml.tokens[300] is not valid UTF-8"])
broken("merge-bad-utf8", variant(lambda g: g.set("tokenizer.ggml.merges", ARR, (STR, [b"a \xff"]))),
       ["tokenizer.ggml.merges[0] is not valid UTF-8"])
broken("token-types-short", variant(lambda g: g.set("tokenizer.ggml.token_type", ARR, (I32, [1]))),
       ["tokenizer.ggml.token_type must be a list as long as tokenizer.ggml.tokens"])
broken("bos-outside-vocab", variant(lambda g: (g.set("tokenizer.ggml.bos_token_id", U32, 100000),
                                               g.set("tokenizer.ggml.add_bos_token", BOOL, True))),
       ["tokenizer.ggml.bos_token_id 100000 is outside the vocabulary"])
broken("unknown-tokenizer", variant(lambda g: g.set("tokenizer.ggml.model", STR, "bert")),
       ["tokenizer.ggml.model 'bert' is not supported"])
broken("unknown-pre-tokenizer", variant(lambda g: g.set("tokenizer.ggml.pre", STR, "falcon")),
       ["tokenizer.ggml.pre 'falcon' is not supported"])
broken("merges-missing", variant(lambda g: g.drop("tokenizer.ggml.merges")), ["tokenizer.ggml.merges is missing"])
broken("spm-without-scores", variant(lambda g: g.set("tokenizer.ggml.model", STR, "llama")),
       ["tokenizer.ggml.scores is missing"])

# Tensor infos.
broken("unknown-tensor-type", variant(tensor_change("output_norm.weight", type=99)),
       ["tensor output_norm.weight has type", "99"])
broken("n-dims-0", variant(tensor_change("output_norm.weight", dims=[])),
       ["tensor output_norm.weight has 0 dimensions"])
broken("n-dims-5", variant(tensor_change("output_norm.weight", dims=[64, 1, 1, 1, 1])),
       ["tensor output_norm.weight has 5 dimensions"])
broken("zero-dimension", variant(tensor_change("blk.0.attn_q.weight", dims=[64, 0])),
       ["tensor blk.0.attn_q.weight has dimension 0"])
broken("dimension-overflow", variant(tensor_change("blk.0.attn_q.weight", dims=[2**32, 2**32])),
       ["tensor blk.0.attn_q.weight has dimension 4294967296 (empty or too large)"])
broken("q8-partial-block", variant(tensor_change("blk.0.attn_q.weight", type=GGML_Q8_0, dims=[48, 128])),
       ["blk.0.attn_q.weight: first dimension 48 is not a multiple of Q8_0's block of 32"])
broken("misaligned-offset", variant(tensor_change("output_norm.weight", offset=layout["output_norm.weight"] -
                                                  layout["data"] + 4)),
       ["tensor output_norm.weight data offset", "is not a multiple of the alignment 32"])
broken("overlapping-tensors", variant(tensor_change("output_norm.weight", offset=0)),
       ["tensors", "overlap"])
broken("tensor-past-end", variant(tensor_change("blk.2.ffn_down.weight", offset=2**40)),
       ["tensor blk.2.ffn_down.weight", "runs past the end of the file"])
broken("tensor-offset-huge", variant(tensor_change("blk.2.ffn_down.weight", offset=2**64 - 32)),
       ["tensor blk.2.ffn_down.weight", "runs past the end of the file"])
broken("duplicate-tensor", variant(lambda g: g.tensors.append(dict(g.tensors[1]))),
       ["tensor output_norm.weight appears twice"])
broken("tensor-name-past-end", patched(good, layout["tensor_infos"], "<Q", 2**40),
       ["a tensor name", "runs past the end of the file"])

# Shapes against the metadata (tensors the model loader checks).
broken("attn-q-rows", variant(lambda g: (tensor_change("blk.1.attn_q.weight", dims=[64, 96])(g))),
       ["tensor model.layers.1.self_attn.q_proj.weight has shape [96, 64], expected [128, 64]"], ("run",))
broken("token-embd-vocab", variant(lambda g: g.tensor("token_embd.weight").update(dims=[64, 500])),
       ["tensor model.embed_tokens.weight has shape [500, 64], expected [512, 64]"], ("run",))
broken("missing-tensor", variant(lambda g: g.tensors.remove(g.tensor("blk.2.ffn_up.weight"))),
       ["missing tensor blk.2.ffn_up.weight"], ("run",))
broken("rope-freqs-wrong-size", variant(lambda g: g.add_tensor("rope_freqs.weight", np.ones(3, np.float32))),
       ["rope_freqs.weight must be 8 F32 values"], ("run", "info"))

c.finish()
