"""Shared helpers for the script tests (run under /usr/bin/python3 by CTest)."""
import argparse
import json
import os
import subprocess
import sys

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
