"""kvlm against llama.cpp on the same real model: SmolLM2-135M-Instruct's GGUF
(scripts/fetch_smollm2.sh) and its F32 form made by llama.cpp's llama-quantize
(scripts/llama_cpp_models.sh, which builds llama.cpp beside the project).

- Tokenizer: kvlm's ids for the GGUF equal llama-tokenize's on a sample of the
  tokenizer corpus and on long texts.
- Greedy generation: with f32 weights and end-of-generation tokens masked
  (--ignore-eos in both), kvlm's 64 tokens equal llama-completion's on 9 of
  10 prompts, completion and chat (at least 8 asserted: see below).
- Smoke: greedy "The capital of France is" continues with " Paris".
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run, run_json  # noqa: E402
import make_corpus  # noqa: E402

args = parse_args()
K = args.kvlm
c = Checker()


def script(name):
    return run([os.path.join(SOURCE_DIR, "scripts", name)]).stdout.strip()


model = script("fetch_smollm2.sh")
models_dir = script("llama_cpp_models.sh")
bin_dir = script("llama_cpp.sh")
f32 = os.path.join(models_dir, "smollm2-135m-instruct-f32.gguf")


def write(name, text):
    path = os.path.join(args.workdir, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


# --- tokenizer ---------------------------------------------------------------
def llama_tokenize(text, special=False):
    path = write("text.txt", text)
    out = run([os.path.join(bin_dir, "llama-tokenize"), "-m", model, "-f", path, "--ids", "--log-disable",
               "--no-escape"] + ([] if special else ["--no-parse-special"])).stdout
    return json.loads(out.strip().splitlines()[-1])


corpus = make_corpus.build_corpus()
random.Random(7).shuffle(corpus)
sample = [t for t in corpus if t][:150]
long_texts = [open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read(),
              open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8").read()]
texts = sample + long_texts
lines = write("corpus.jsonl", "".join(json.dumps(t) + "\n" for t in texts))
with open(lines, encoding="utf-8") as f:
    got = [json.loads(l) for l in run([K, "tokenize", "-m", model, "--jsonl"], stdin=f).stdout.splitlines()]
c.check(len(got) == len(texts), f"kvlm tokenize --jsonl gave {len(got)} lines for {len(texts)} texts")
mismatches = 0
for text, ids in zip(texts, got):
    want = llama_tokenize(text)
    if ids != want:
        mismatches += 1
        if mismatches <= 5:
            print(f"  tokenize mismatch on {text[:60]!r}: kvlm {ids[:12]}... llama.cpp {want[:12]}...")
c.check(mismatches == 0, f"{mismatches} of {len(texts)} texts tokenize differently from llama-tokenize")
print(f"tokenizer: {len(texts) - mismatches} of {len(texts)} texts identical "
      f"({sum(len(ids) for ids in got)} tokens)")

# --- greedy generation, f32 ----------------------------------------------------
COMPLETIONS = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "The three primary colors are",
    "def fibonacci(n):\n",
    "Water boils at a temperature of",
]
QUESTIONS = [
    "What is the capital of France?",
    "Translate to French: The cat is on the table.",
    "Write a haiku about the ocean.",
    "Give me three tips for learning a new language.",
    "Correct the punctuation: their going to the store tomorrow i think",
]


def chat_prompt(question):
    messages = write("messages.json", json.dumps([{"role": "user", "content": question}]))
    return run([K, "template", "-m", model, "--messages", messages]).stdout


def llama_complete(prompt, n):
    path = write("prompt.txt", prompt)
    proc = subprocess.run([os.path.join(bin_dir, "llama-completion"), "-m", f32, "-bf", path, "--no-escape", "-no-cnv",
                           "--temp", "0", "-n", str(n), "--ignore-eos", "--no-display-prompt", "-sp", "-c", "512",
                           "-t", "2", "--no-warmup"], stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode != 0:
        sys.exit(f"FAIL: llama-completion exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    text = proc.stdout.decode("utf-8", errors="replace")
    return text[:-2] if text.endswith("\n\n") else text  # llama-completion ends its output with a blank line


full = 0
for prompt in COMPLETIONS + [chat_prompt(q) for q in QUESTIONS]:
    # The rendered chat template's special tokens are parsed by llama.cpp; kvlm
    # takes text as text, so both get the same ids through --ids.
    ids = ",".join(map(str, llama_tokenize(prompt, special=True)))
    r = run_json([K, "run", "-m", f32, "--dtype", "f32", "--ids", ids, "-n", "64", "--temp", "0", "--ignore-eos",
                  "--json", "-t", "2"])
    ours = r["text"]
    theirs = llama_complete(prompt, 64)
    same = ours == theirs and len(r["generated_ids"]) == 64
    full += same
    if not same:
        common = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        print(f"  differs after {common} chars on {prompt[-40:]!r}:\n    kvlm:      {ours!r}\n    llama.cpp: {theirs!r}")
# 9 of 10 here (AVX2; the other prompt parts after 277 characters at a near tie).
# Another ISA rounds both engines' sums differently, so one more near tie is allowed.
c.check(full >= 8, f"only {full} of 10 prompts give llama.cpp's 64 greedy tokens")
print(f"greedy f32: {full} of 10 prompts identical to llama.cpp for 64 tokens")

r = run_json([K, "run", "-m", model, "-p", "The capital of France is", "-n", "8", "--temp", "0", "--json"])
c.check(r["text"].startswith(" Paris"), f"SmolLM2 continues 'The capital of France is' with {r['text']!r}")
c.finish()
