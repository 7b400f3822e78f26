"""A table of broken models and bad arguments: each must give exactly one clear
error line on stderr and a non-zero exit (never a signal, never a hang)."""
import json
import os
import shutil

import safetensors_util as st
from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run

args = parse_args()
good = os.path.join(SOURCE_DIR, "tests", "fixtures", "stories260k")
header, data = st.read(os.path.join(good, "model.safetensors"))
config = json.load(open(os.path.join(good, "config.json")))
c = Checker()


def make(name, config_text=None, weights=None, extra=None):
    """A model dir: config.json (text) + model.safetensors written by `weights(path)`."""
    d = os.path.join(args.workdir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(json.dumps(config) if config_text is None else config_text)
    path = os.path.join(d, "model.safetensors")
    if weights is None:
        shutil.copy(os.path.join(good, "model.safetensors"), path)
    else:
        weights(path)
    if extra:
        extra(d)
    return d


def with_header(change):
    def write(path):
        h = json.loads(json.dumps(header))
        change(h)
        st.write(path, h, data)
    return write


def config_with(**fields):
    cfg = dict(config)
    cfg.update(fields)
    return json.dumps(cfg)


def truncated(path):
    with open(os.path.join(good, "model.safetensors"), "rb") as f:
        raw = f.read()
    with open(path, "wb") as f:
        f.write(raw[: len(raw) // 2])


def remove_weights(d):
    os.remove(os.path.join(d, "model.safetensors"))


def bad_index(d):
    os.remove(os.path.join(d, "model.safetensors"))
    json.dump({"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}},
              open(os.path.join(d, "model.safetensors.index.json"), "w"))


IDS = ["--ids", "1,403,407"]
CASES = [
    # (name, model dir, extra args, words the message must contain)
    ("missing model dir", os.path.join(args.workdir, "does-not-exist"), IDS, ["not found"]),
    ("no config.json", make("no-config", extra=lambda d: os.remove(os.path.join(d, "config.json"))), IDS, ["config.json"]),
    ("no weights", make("no-weights", extra=remove_weights), IDS, ["safetensors"]),
    ("truncated safetensors", make("truncated", weights=truncated), IDS, ["outside"]),
    ("tiny file", make("tiny-file", weights=lambda p: open(p, "wb").write(b"\x01\x02")), IDS, ["truncated"]),
    ("header length beyond file", make("header-len", weights=lambda p: st.write(p, header, data, header_len=10**12)), IDS,
     ["header length"]),
    ("header not JSON", make("header-json", weights=lambda p: open(p, "wb").write(b"\x05\0\0\0\0\0\0\0{abc}")), IDS,
     ["malformed JSON"]),
    ("offsets out of bounds", make("offsets", weights=with_header(
        lambda h: h["model.norm.weight"].update(data_offsets=[len(data) - 4, len(data) + 252]))), IDS, ["outside"]),
    ("offsets disagree with shape", make("offsets-size", weights=with_header(
        lambda h: h["model.norm.weight"].update(shape=[65]))), IDS, ["does not match"]),
    ("wrong shape", make("shape", weights=with_header(
        lambda h: h["model.embed_tokens.weight"].update(shape=[64, 512]))), IDS, ["model.embed_tokens.weight", "shape"]),
    ("wrong dtype", make("dtype", weights=with_header(
        lambda h: h["model.norm.weight"].update(dtype="I32"))), IDS, ["model.norm.weight", "I32"]),
    ("unknown dtype", make("dtype2", weights=with_header(
        lambda h: h["model.norm.weight"].update(dtype="Q9"))), IDS, ["unknown dtype"]),
    ("missing tensor", make("missing", weights=with_header(
        lambda h: h.pop("model.layers.3.mlp.up_proj.weight"))), IDS, ["missing tensor", "model.layers.3.mlp.up_proj.weight"]),
    ("sharded index names a missing shard", make("bad-index", extra=bad_index), IDS, ["model-00001-of-00002"]),
    ("unknown architecture", make("arch", config_text=config_with(architectures=["GPT2LMHeadModel"])), IDS,
     ["GPT2LMHeadModel"]),
    ("malformed config JSON", make("config-json", config_text='{"architectures": ["LlamaForCausalLM"], '), IDS,
     ["malformed JSON"]),
    ("unsupported activation", make("act", config_text=config_with(hidden_act="gelu")), IDS, ["hidden_act"]),
    ("unsupported rope scaling", make("rope", config_text=config_with(rope_scaling={"rope_type": "yarn", "factor": 4.0})),
     IDS, ["rope_scaling", "yarn"]),
    ("heads not divisible", make("heads", config_text=config_with(num_key_value_heads=3)), IDS, ["num_key_value_heads"]),
    ("negative size", make("neg", config_text=config_with(hidden_size=-64)), IDS, ["hidden_size"]),
    ("empty bos list in config", make("bos-config", config_text=config_with(bos_token_id=[])), IDS,
     ["config.json", "bos_token_id"]),
    ("empty bos list in generation config", make("bos-gen", extra=lambda d: json.dump(
        {"bos_token_id": []}, open(os.path.join(d, "generation_config.json"), "w"))), IDS,
     ["generation_config.json", "bos_token_id"]),
    ("context overflow", good, ["--ids", "1,403,407,261,378", "--ctx", "4"], ["context"]),
    ("context above max positions", good, IDS + ["--ctx", "100000"], ["max_position_embeddings"]),
    ("id out of range", good, ["--ids", "1,99999"], ["99999", "out of range"]),
    ("id not a number", good, ["--ids", "1,abc"], ["abc"]),
    ("no prompt", good, [], ["--ids"]),
    ("bad dtype flag", good, IDS + ["--dtype", "f8"], ["dtype"]),
]

# A good model is packed into the package cache on its first start, with a
# notice (test_package_cache checks it); pack it now so the cases below see
# only their own error line.
run([args.kvlm, "run", "-m", good, "-n", "1"] + IDS, timeout=60)

for name, model_dir, extra, words in CASES:
    proc = run([args.kvlm, "run", "-m", model_dir, "-n", "2"] + extra, check=False, timeout=60)
    lines = proc.stderr.strip().splitlines()
    c.check(proc.returncode > 0, f"{name}: exit status {proc.returncode} (want a positive error status, not a signal)")
    c.check(len(lines) == 1, f"{name}: want one stderr line, got {len(lines)}: {proc.stderr!r}")
    msg = lines[0] if lines else ""
    c.check(msg.startswith("kvlm: error:"), f"{name}: message does not start with 'kvlm: error:': {msg!r}")
    for w in words:
        c.check(w in msg, f"{name}: message lacks {w!r}: {msg!r}")
    print(f"{name:38s} -> {msg}")

c.finish()
