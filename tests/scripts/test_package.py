"""kvlm convert round trip: a .kvlm package gives exactly the logits of the same
dtype loaded from the Hugging Face directory (same weights, same kernels), for
f16, bf16, q8 and q4, on Llama and Qwen2 shapes; the stories260k package
reproduces run.c's greedy ids; broken packages give one clear error line
(integrity checks: test_verify.py)."""
import os
import re

import numpy as np
import xxhash

from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run, run_json

args = parse_args()
c = Checker()
ids = ",".join(str(i) for i in np.random.default_rng(5).integers(0, 512, size=30))


def logits(model, *extra):
    out = os.path.join(args.workdir, "logits.bin")
    run([args.kvlm, "run", "-m", model, "--ids", ids, "-n", "0", "--logits-out", out, *extra])
    return np.fromfile(out, dtype=np.float32)


for shape in ["tiny-llama", "tiny-qwen2"]:
    hf = os.path.join(args.workdir, shape)
    run([args.kvlm, "synth", "--shape", shape, "--dtype", "bf16", "--seed", "3", "-o", hf])
    for dtype in ["f16", "bf16", "q8", "q4"]:
        pkg = os.path.join(args.workdir, f"{shape}-{dtype}.kvlm")
        run([args.kvlm, "convert", hf, "-o", pkg, "--dtype", dtype, "-q"])
        a, b = logits(hf, "--dtype", dtype), logits(pkg)
        c.check(a.shape == b.shape and np.array_equal(a, b),
                f"{shape} {dtype}: package logits differ from the directory's (max {np.abs(a - b).max():.3g})")
        # --no-mmap copies the same bytes into memory: identical logits.
        c.check(np.array_equal(b, logits(pkg, "--no-mmap")), f"{shape} {dtype}: --no-mmap changes the package's logits")
        c.check(np.array_equal(a, logits(hf, "--dtype", dtype, "--no-mmap")),
                f"{shape} {dtype}: --no-mmap changes the directory's logits")
        c.check(not os.path.exists(pkg + ".tmp"), f"{shape} {dtype}: temporary file left behind")
        info = run([args.kvlm, "info", "-m", pkg]).stdout
        c.check(f"weights:          {dtype}" in info, f"{shape} {dtype}: info does not report the package dtype")

# A real trained model through a package: run.c's greedy ids (f16 agrees for all 200 steps).
stories = os.path.join(SOURCE_DIR, "tests", "fixtures", "stories260k")
pkg = os.path.join(args.workdir, "stories-f16.kvlm")
run([args.kvlm, "convert", stories, "-o", pkg, "--dtype", "f16", "-q"])
import json  # noqa: E402
case = json.load(open(os.path.join(stories, "expected.json")))["cases"][3]
out = run_json([args.kvlm, "run", "-m", pkg, "--ids", ",".join(map(str, case["prompt_ids"])), "-n", "200", "--json"])
c.check(out["generated_ids"] == case["generated_ids"], "stories260k f16 package: greedy ids differ from run.c")

# Broken packages: one error line, non-zero exit, never a crash.
good = open(pkg, "rb").read()
header_len = int.from_bytes(good[8:16], "little")


def broken(name, data, *words, extra=()):
    path = os.path.join(args.workdir, name + ".kvlm")
    with open(path, "wb") as f:
        f.write(data)
    proc = run([args.kvlm, "run", "-m", path, "--ids", "1,2", "-n", "1", *extra], check=False)
    lines = proc.stderr.strip().splitlines()
    c.check(proc.returncode > 0 and len(lines) == 1 and all(w in proc.stderr for w in words),
            f"{name}: want one error line with {words}, got status {proc.returncode}: {proc.stderr!r}")
    print(f"{name:22s} -> {lines[0] if lines else ''}")


broken("truncated", good[: len(good) // 2], "outside the file")
broken("bad-magic", b"NOTKVLM!" + good[8:], "is neither a model directory, a .kvlm package nor a GGUF file")
broken("header-too-long", good[:8] + (10**12).to_bytes(8, "little") + good[16:], "header length")
broken("bad-version", re.sub(rb'"format_version":\d+', b'"format_version":9', good, count=1), "format version 9")
broken("dtype-mismatch", good, "holds f16 weights", extra=("--dtype", "q8"))


def sealed(data):
    """data with its header checksum recomputed (io/package_format.h), as a writer would leave it."""
    end = 16 + int.from_bytes(data[8:16], "little")
    return data[:end] + xxhash.xxh3_64_intdigest(data[:end]).to_bytes(8, "little") + data[end + 8:]


broken("missing-tensor", sealed(good.replace(b'"model.norm.weight"', b'"model.norm.weighX"', 1)), "missing tensor model.norm.weight")
broken("header-changed", good.replace(b'"model.norm.weight"', b'"model.norm.weighX"', 1), "package header is corrupt")
# convert refuses outputs it cannot write before loading anything.
for out, words in [(os.path.join(args.workdir, "no-such-dir", "m.kvlm"), "does not exist"), (args.workdir, "is a directory")]:
    proc = run([args.kvlm, "convert", stories, "-o", out, "--dtype", "q8"], check=False)
    lines = proc.stderr.strip().splitlines()
    c.check(proc.returncode > 0 and len(lines) == 1 and words in proc.stderr,
            f"convert -o {out}: want one error line with {words!r}, got {proc.returncode}: {proc.stderr!r}")
c.finish()
