"""The CLI's messages, flags and batch behaviour (issue 13 items 3-5), on a tiny
synth model with the real Llama 3 tokenizer and Llama 3.2 template:
- translate/copyedit batches: one result per non-blank stdin line, in order;
  a failing line (invalid UTF-8, too long for the context) is named by its
  line number on stderr and as {"line", "error"} with --json, the batch goes
  on, exit status 1; each good line's result equals the same text run alone;
- numeric flags say what is wrong in words (no 310-digit bounds), exit 2;
- --version: the project() version of CMakeLists.txt, the git commit, the
  build type, the kernel ISA (KVLM_ISA=generic forces "generic");
- an unknown command is named with the closest one;
- -t above the cores (os.sched_getaffinity) warns; at the cores it does not;
- --help shows defaults; run's seed is random unless given, reported in
  --json, and a reported seed reproduces the text; -f FILE and -p - read the
  prompt; a full context stops with "context", max_new with "length";
- --json timings are rounded to 0.01 ms;
- tokenize, detokenize, template and info take a directory, a .kvlm package,
  a GGUF and kv:NAME alike; info reports the safetensors' tensor and
  parameter counts without loading weights (its peak RSS stays far below the
  weights' size);
- eval and smoke exit 1 when a checked case fails, eval 0 when all pass;
- convert writes no \\r progress bar into a pipe."""
import json
import os
import re
import resource
import subprocess

from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run, run_json, tiny_chat_model, rerun_in_test_venv

try:
    import gguf  # noqa: F401
except ImportError:  # CTest runs /usr/bin/python3; gguf lives in the test venv.
    rerun_in_test_venv()

import numpy as np  # noqa: E402

import safetensors_util  # noqa: E402
from gguf_writer import write_gguf  # noqa: E402

args = parse_args()
c = Checker()
K = args.kvlm
W = args.workdir


def kvlm(*cmd, stdin=None, env=None, **kw):
    return subprocess.run([K, *cmd], input=stdin, capture_output=True, env=env, **kw)


def text(b):
    return b.decode("utf-8", errors="replace")


# --- models: a directory (f32, so the GGUF writer can read it), its package and its GGUF
model = tiny_chat_model(K, os.path.join(W, "tiny"), seed=3)
f32 = os.path.join(W, "tiny-f32")
run([K, "synth", "--shape", "tiny-llama", "--dtype", "f32", "--seed", "3", "--tokenizer", model, "-o", f32])
for name in ("chat_template.jinja", "tokenizer_config.json"):
    with open(os.path.join(model, name), "rb") as src, open(os.path.join(f32, name), "wb") as dst:
        dst.write(src.read())
package = os.path.join(W, "tiny.kvlm")
conv = kvlm("convert", f32, "-o", package, "--dtype", "f16")
c.check(conv.returncode == 0, f"convert failed: {text(conv.stderr)}")
# Piped stderr is no terminal: a start and an end line, no \r redraws.
err = text(conv.stderr)
c.check("\r" not in err and len(err.strip().splitlines()) <= 2, f"convert into a pipe wrote a progress bar: {err!r}")

header, data = safetensors_util.read(os.path.join(f32, "model.safetensors"))
tensors = {}
for name, info in header.items():
    if name == "__metadata__":
        continue
    b, e = info["data_offsets"]
    tensors[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"]).copy()
config = json.load(open(os.path.join(f32, "config.json")))
gguf_path = os.path.join(W, "tiny.gguf")
write_gguf(gguf_path, config, tensors, "F32", vocab=json.load(open(os.path.join(f32, "tokenizer.json"))))

# --- batches
BAD_UTF8 = b"\xff\xfe broken"
LONG = " ".join(["hello"] * 700).encode()  # > 512 tokens: does not fit the context
lines = [b"Hello there", b"", b"   ", BAD_UTF8, b"Good morning", LONG, b"See you"]
stdin = b"\n".join(lines) + b"\n"
alone = {}
for n in (1, 5, 7):
    p = kvlm("translate", "-m", model, "--to", "French", "-n", "4", "--json", lines[n - 1].decode())
    c.check(p.returncode == 0, f"translate of line {n} alone failed: {text(p.stderr)}")
    alone[n] = json.loads(p.stdout)["text"] if p.returncode == 0 else None

p = kvlm("translate", "-m", model, "--to", "French", "-n", "4", "--json", "-", stdin=stdin)
out = [json.loads(line) for line in text(p.stdout).splitlines()]
c.check(p.returncode == 1, f"batch with failing lines: exit {p.returncode}, want 1")
c.check([o.get("line") for o in out] == [1, 4, 5, 6, 7],
        f"batch --json: want one object per non-blank line (1, 4, 5, 6, 7), got {[o.get('line') for o in out]}")
if len(out) == 5:
    by_line = {o["line"]: o for o in out}
    for n in (1, 5, 7):
        c.check(by_line[n].get("text") == alone[n] and "error" not in by_line[n],
                f"batch line {n}: {by_line[n]!r}, alone it gives {alone[n]!r}")
    c.check(set(by_line[4]) == {"line", "error"} and "UTF-8" in by_line[4]["error"],
            f"line 4 (invalid UTF-8): {by_line[4]!r}")
    c.check(set(by_line[6]) == {"line", "error"} and "context" in by_line[6]["error"],
            f"line 6 (too long): {by_line[6]!r}")
err = text(p.stderr)
c.check(re.search(r"^kvlm: error: line 4: .*UTF-8", err, re.M) and re.search(r"^kvlm: error: line 6: ", err, re.M),
        f"batch stderr does not name lines 4 and 6: {err!r}")
timings = [o[k] for o in out for k in ("prefill_ms", "first_token_ms", "decode_ms_per_token") if k in o]
c.check(timings and all(round(v, 2) == v for v in timings), f"translate --json timings not rounded to 0.01: {timings}")

p = kvlm("copyedit", "-m", model, "-n", "4", "-", stdin=stdin)
got = text(p.stdout).split("\n")
c.check(p.returncode == 1 and len(got) == 6 and got[5] == "" and got[1] == "" and got[3] == "" and got[0] and got[2],
        f"copyedit batch text: want 5 lines (empty for failed lines 4 and 6), exit 1; got {got!r}, exit {p.returncode}")
p = kvlm("copyedit", "-m", model, "-n", "2", "-", stdin=b"fine\nalso fine\n")
c.check(p.returncode == 0 and len(text(p.stdout).splitlines()) == 2, f"all-good batch: exit {p.returncode}")

# --- numbers in words (exit 2, no huge numbers)
for cmd, want in [
        (["translate", "-m", model, "--to", "French", "-n", "0", "x"], "--max-new must be at least 1, got '0'"),
        (["run", "-m", model, "-p", "hi", "--ctx", "0"], "--ctx must be at least 1, got '0'"),
        (["run", "-m", model, "-p", "hi", "--temp", "abc"], "--temp must be a number, got 'abc'"),
        (["run", "-m", model, "-p", "hi", "--top-p", "2"], "--top-p must be greater than 0 and at most 1, got '2'"),
        (["run", "-m", model, "-p", "hi", "--top-p", "0"], "--top-p must be greater than 0 and at most 1, got '0'"),
        (["run", "-m", model, "-p", "hi", "-n", "1.5"], "--max-new must be a whole number, got '1.5'"),
        (["run", "-m", model, "-p", "hi", "-t", "-2"], "--threads must be at least 0, got '-2'"),
        (["serve", "-m", model, "--port", "70000"], "--port must be between 0 and 65535, got '70000'")]:
    p = kvlm(*cmd)
    err = text(p.stderr).strip()
    c.check(p.returncode == 2 and err == "kvlm: error: " + want and not re.search(r"\d{12}", err),
            f"{' '.join(cmd[3:])}: want '{want}' (exit 2), got {err!r} (exit {p.returncode})")

# --- --version
cmake = open(os.path.join(SOURCE_DIR, "CMakeLists.txt")).read()
version = re.search(r"project\(kvlm VERSION ([0-9.]+)", cmake).group(1)
p = kvlm("--version")
v = text(p.stdout)
c.check(p.returncode == 0 and v.splitlines()[0] == f"kvlm {version}", f"--version first line: {v!r}, want kvlm {version}")
m = re.search(r"^commit: (\S+)$", v, re.M)
c.check(m and re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown", m.group(1)), f"--version commit: {v!r}")
git = subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
if git.returncode == 0 and m:
    c.check(m.group(1).split("-")[0] == git.stdout.strip(), f"--version commit {m.group(1)}, git HEAD {git.stdout.strip()}")
c.check(re.search(r"^build: \S+", v, re.M) and re.search(r"^kernels: (avx512|avx2|generic)$", v, re.M),
        f"--version build / kernels: {v!r}")
p = kvlm("--version", env={**os.environ, "KVLM_ISA": "generic"})
c.check("kernels: generic" in text(p.stdout), f"KVLM_ISA=generic --version: {text(p.stdout)!r}")

# --- unknown commands
for word, want in [("trnaslate", "unknown command 'trnaslate'; did you mean 'translate'?"),
                   ("tokenise", "unknown command 'tokenise'; did you mean 'tokenize'?"),
                   ("tok", "unknown command 'tok'; did you mean 'tokenize'?")]:
    p = kvlm(word)
    c.check(p.returncode == 2 and text(p.stderr).strip() == "kvlm: error: " + want, f"{word}: {text(p.stderr)!r}")
p = kvlm("xyzzyq")
c.check(p.returncode == 2 and "unknown command 'xyzzyq' (commands:" in text(p.stderr) and "translate" in text(p.stderr),
        f"xyzzyq: {text(p.stderr)!r}")

# --- threads against the cores
cores = len(os.sched_getaffinity(0))
p = kvlm("run", "-m", model, "--ids", "1,2", "-n", "1", "-t", str(cores + 1))
c.check(p.returncode == 0 and f"kvlm: warning: {cores + 1} threads on {cores} core" in text(p.stderr),
        f"-t {cores + 1} on {cores} cores: no warning: {text(p.stderr)!r}")
p = kvlm("run", "-m", model, "--ids", "1,2", "-n", "1", "-t", str(cores))
c.check(p.returncode == 0 and "warning" not in text(p.stderr), f"-t {cores}: unexpected warning {text(p.stderr)!r}")

# --- defaults in --help
for cmd, flag, default in [("run", "--max-new", "128"), ("run", "--ctx", "512"), ("translate", "--max-new", "256"),
                           ("eval", "--ctx", "512"), ("run", "--seed", "random")]:
    h = text(kvlm(cmd, "--help").stdout)
    line = next((ln for ln in h.splitlines() if flag in ln), "")
    c.check(re.search(r"\b" + default + r"\b", line), f"{cmd} --help: {flag} line shows no default {default}: {line!r}")

# --- seeds
def sample(*extra):
    return run_json([K, "run", "-m", model, "-p", "Once upon a time", "-n", "12", "--temp", "1.5", "--json", *extra])


a, b = sample(), sample()
c.check(isinstance(a.get("seed"), int) and a.get("seed") != b.get("seed"), f"two runs got seeds {a.get('seed')}, {b.get('seed')}")
again = sample("--seed", str(a["seed"]))
c.check(again["generated_ids"] == a["generated_ids"] and again["seed"] == a["seed"], "the reported seed does not reproduce the text")
p = kvlm("run", "-m", model, "-p", "Once upon a time", "-n", "2", "--temp", "1.5", "--seed", "7", "--verbose")
c.check(p.returncode == 0 and re.search(r"^seed 7$", text(p.stderr), re.M), f"--verbose seed line: {text(p.stderr)!r}")
c.check(all(round(v, 2) == v for v in a["timings"].values()), f"run --json timings not rounded: {a['timings']}")

# --- prompts from a file and from stdin
pf = os.path.join(W, "prompt.txt")
with open(pf, "w") as f:
    f.write("The capital of France is\n")
ref = run_json([K, "run", "-m", model, "-p", "The capital of France is", "-n", "3", "--temp", "0", "--json"])
fromfile = run_json([K, "run", "-m", model, "-f", pf, "-n", "3", "--temp", "0", "--json"])
fromstdin = json.loads(run([K, "run", "-m", model, "-p", "-", "-n", "3", "--temp", "0", "--json"],
                           input="The capital of France is\n").stdout)
c.check(fromfile["prompt_ids"] == ref["prompt_ids"] == fromstdin["prompt_ids"] and
        fromfile["generated_ids"] == ref["generated_ids"], "-f FILE / -p - do not give -p TEXT's prompt")

# --- stop reasons: a full context is "context", max_new is "length"
full = run_json([K, "run", "-m", model, "--ids", "1,2,3", "--ctx", "8", "-n", "50", "--ignore-eos", "--json"])
c.check(full["stop_reason"] == "context" and len(full["generated_ids"]) == 6,
        f"--ctx 8, 3 prompt ids: want 6 ids and 'context', got {len(full['generated_ids'])} and {full['stop_reason']}")
short = run_json([K, "run", "-m", model, "--ids", "1,2,3", "--ctx", "8", "-n", "6", "--ignore-eos", "--json"])
c.check(short["stop_reason"] == "length", f"-n 6 reached with the context then full: {short['stop_reason']}")

# --- models in every form for tokenize / detokenize / template / info
os.environ["KVLM_MODELS"] = W
forms = {"dir": model, "package": package, "gguf": gguf_path, "kv:": "kv:tiny"}
ids = {k: kvlm("tokenize", "-m", m, "Hello, world!") for k, m in forms.items()}
for k, p in ids.items():
    c.check(p.returncode == 0 and json.loads(p.stdout) == json.loads(ids["dir"].stdout),
            f"tokenize on {k}: {text(p.stdout)!r} {text(p.stderr)!r}")
for k, m in forms.items():
    p = kvlm("detokenize", "-m", m, "9906", "11", "1917", "0")
    c.check(p.returncode == 0 and text(p.stdout) == "Hello, world!\n", f"detokenize on {k}: {p.stdout!r} {text(p.stderr)!r}")
msgs = os.path.join(W, "messages.json")
with open(msgs, "w") as f:
    json.dump([{"role": "user", "content": "hi"}], f)
rendered = {k: kvlm("template", "-m", forms[k], "--messages", msgs, "--date", "2024-07-26") for k in ("dir", "package")}
c.check(rendered["package"].returncode == 0 and rendered["package"].stdout == rendered["dir"].stdout,
        f"template on a package: {text(rendered['package'].stderr)!r}")

n_params = sum(int(np.prod(t.shape)) for t in tensors.values())
for k, m in forms.items():
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = kvlm("info", "-m", m)
    out = text(p.stdout)
    c.check(p.returncode == 0, f"info on {k}: {text(p.stderr)!r}")
    c.check(re.search(rf"^tensors:\s+{len(tensors)}$", out, re.M) and
            re.search(rf"^parameters:\s+{n_params / 1e6:.3f} M$", out, re.M),
            f"info on {k}: want {len(tensors)} tensors, {n_params / 1e6:.3f} M parameters: {out!r}")
    fmt = {"dir": "huggingface", "package": "kvlm", "gguf": "gguf", "kv:": "huggingface"}[k]  # kv:tiny is the directory
    c.check(re.search(rf"^format:\s+{fmt} ", out, re.M), f"info on {k}: format line: {out!r}")
    # No weight is read: the process stays far below the f32 weights' 33 MB (a load maps
    # and converts all of them). ru_maxrss is the largest child so far, so only a rise counts.
    # (Not under AddressSanitizer, scripts/sanitize.sh: its shadow memory alone is larger.)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after > before and "ASAN_OPTIONS" not in os.environ:
        c.check(after * 1024 < n_params * 4 // 2, f"info on {k}: peak RSS {after} KB, weights {n_params * 4 // 1024} KB")

# --- eval / smoke exit status
p = kvlm("eval", "-m", model, "--pack", "smoke", "-n", "4")
c.check(p.returncode == 1 and re.search(r"0 of 1 checked cases pass", text(p.stdout)),
        f"eval of a failing pack: exit {p.returncode}, {text(p.stdout)[-200:]!r}")
p = kvlm("eval", "-m", model, "--pack", "smoke", "-n", "4", "--json")
rep = json.loads(p.stdout) if p.stdout else {}
c.check(p.returncode == 1 and rep.get("summary", {}).get("passed") == 0, f"eval --json of a failing pack: exit {p.returncode}")
p = kvlm("smoke", "-m", model, "-n", "4")
c.check(p.returncode == 1 and "smoke: FAIL" in text(p.stdout), f"smoke on a random model: exit {p.returncode}")
passing = os.path.join(W, "passing.jsonl")
with open(passing, "w") as f:
    f.write(json.dumps({"id": "never", "prompt": "Hello", "max_new_tokens": 2, "must_not_contain": ["\u2603\u2603\u2603"]}) + "\n")
p = kvlm("eval", "-m", model, "--pack", passing)
c.check(p.returncode == 0, f"eval of a passing pack: exit {p.returncode}: {text(p.stderr)!r}")

c.finish()
