"""Package integrity: `kvlm convert` records XXH3-64 checksums of the header
and of every blob, checked against python3-xxhash (an independent
implementation); `kvlm verify` names each blob whose bytes were changed and
exits 1; loading with --verify fails naming it, without --verify still loads
(blob checks are opt-in: they read every page); a changed header byte fails
every load. Packages are cut open here with the layout of io/package_format.h."""
import json
import os
import re

import xxhash

from kvlm_test_util import Checker, parse_args, run, tiny_chat_model

args = parse_args()
c = Checker()
K = args.kvlm

hf = tiny_chat_model(K, os.path.join(args.workdir, "tiny"))
pkg = os.path.join(args.workdir, "tiny-q8.kvlm")
run([K, "convert", hf, "-o", pkg, "--dtype", "q8", "-q"])
good = open(pkg, "rb").read()
header_len = int.from_bytes(good[8:16], "little")
header = json.loads(good[16:16 + header_len])
data_offset = header["data_offset"]
ranges = {f"file {n}": r for n, r in header["files"].items()}
ranges.update({f"tensor {n}": t["data"] for n, t in header["tensors"].items()})

# The writer's checksums, recomputed independently.
c.check(header["format_version"] == 6, f"format_version {header['format_version']}")
c.check(int.from_bytes(good[16 + header_len:24 + header_len], "little") == xxhash.xxh3_64_intdigest(good[:16 + header_len]),
        "the header checksum is not XXH3-64 of bytes [0, 16+H)")
for what, (offset, size, recorded) in ranges.items():
    blob = good[data_offset + offset:data_offset + offset + size]
    c.check(recorded == xxhash.xxh3_64_hexdigest(blob), f"{what}: recorded checksum {recorded} is not its bytes' XXH3-64")
c.check("file tokenizer.json" in ranges and "file chat_template.jinja" in ranges, f"carried files: {list(header['files'])}")

# A clean package verifies: one OK line with the blob count and bytes.
proc = run([K, "verify", pkg])
c.check(proc.stdout.count("\n") == 1 and " OK, " in proc.stdout and f"{len(ranges)} blobs" in proc.stdout,
        f"clean verify: {proc.stdout!r}")
out = json.loads(run([K, "verify", pkg, "--json"]).stdout)
c.check(out["ok"] and out["corrupted"] == [] and out["blobs"] == len(ranges)
        and out["bytes"] == sum(r[1] for r in ranges.values()), f"clean verify --json: {out}")


def write(name, data):
    path = os.path.join(args.workdir, name + ".kvlm")
    with open(path, "wb") as f:
        f.write(data)
    return path


def flipped(data, *positions):
    data = bytearray(data)
    for at in positions:
        data[at] ^= 0x01
    return bytes(data)


def inside(what):
    offset, size, _ = ranges[what]
    return data_offset + offset + size // 2


def one_error(proc, *words):
    lines = proc.stderr.strip().splitlines()
    return proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("kvlm: error: ") and all(w in lines[0] for w in words)


def load(path, *extra):
    return run([K, "run", "-m", path, "--ids", "1,2,3", "-n", "2", *extra], check=False)


# One byte of one tensor's data.
target = "tensor model.layers.1.mlp.up_proj.weight"
bad = write("bad-tensor", flipped(good, inside(target)))
proc = run([K, "verify", bad], check=False)
c.check(proc.stdout == f"{target}: checksum mismatch\n", f"verify of a changed tensor: stdout {proc.stdout!r}")
c.check(one_error(proc, bad, f"1 of {len(ranges)} blobs"), f"verify of a changed tensor: {proc.returncode} {proc.stderr!r}")
out = json.loads(run([K, "verify", bad, "--json"], check=False).stdout)
c.check(not out["ok"] and out["corrupted"] == [target], f"verify --json of a changed tensor: {out}")
for extra in [(), ("--no-mmap",), ("--mmap",)]:
    proc = load(bad, "--verify", *extra)
    c.check(one_error(proc, bad, f"{target}: checksum mismatch"), f"load --verify {extra}: {proc.returncode} {proc.stderr!r}")
proc = load(bad)
c.check(proc.returncode == 0, f"load without --verify refuses a changed blob: {proc.stderr!r}")

# Several blobs, a carried file among them: every one is named, in header order.
names = ["file tokenizer.json", "tensor model.embed_tokens.weight", "tensor model.norm.weight"]
bad = write("bad-three", flipped(good, *(inside(n) for n in names)))
proc = run([K, "verify", bad], check=False)
c.check(proc.stdout.splitlines() == [f"{n}: checksum mismatch" for n in sorted(names)] and one_error(proc, "3 of"),
        f"verify of three changed blobs: {proc.stdout!r} {proc.stderr!r}")
proc = load(bad, "--verify")
c.check(one_error(proc, "file tokenizer.json: checksum mismatch", "and 2 more"), f"load --verify of three: {proc.stderr!r}")

# A recorded checksum changed and the header resealed: the blob is reported,
# so verify compares with what the header records.
resealed = bytearray(good.replace(ranges[target][2].encode(), b"0123456789abcdef", 1))
resealed[16 + header_len:24 + header_len] = xxhash.xxh3_64_intdigest(bytes(resealed[:16 + header_len])).to_bytes(8, "little")
proc = run([K, "verify", write("resealed", bytes(resealed))], check=False)
c.check(proc.stdout == f"{target}: checksum mismatch\n" and proc.returncode == 1, f"resealed header: {proc.stdout!r}")

# The header: a byte of its JSON that keeps it valid JSON, a byte of the
# checksum itself. Every load fails, with or without --verify, and so do
# verify and the tokenizer.
digit = re.search(rb'"rms_norm_eps":\s*[0-9.e-]*([1-9])', good).start(1)
for name, data in [("header-json", flipped(good, digit)), ("header-checksum", flipped(good, 16 + header_len + 3))]:
    path = write(name, data)
    want = f"package header is corrupt (checksum mismatch): {path}"
    for cmd in [[K, "run", "-m", path, "--ids", "1,2", "-n", "1"], [K, "run", "-m", path, "--ids", "1,2", "-n", "1", "--verify"],
                [K, "verify", path], [K, "tokenize", "-m", path, "hello"], [K, "info", "-m", path]]:
        proc = run(cmd, check=False)
        c.check(one_error(proc, want), f"{name}: {' '.join(cmd[1:2])}: {proc.returncode} {proc.stderr!r}")

# An older package (format 5 had no checksums) gets the "convert again" refusal, not "corrupt".
old = write("old", re.sub(rb'"format_version":\d+', b'"format_version":5', good, count=1))
for cmd in [[K, "verify", old], [K, "run", "-m", old, "--ids", "1", "-n", "1"]]:
    proc = run(cmd, check=False)
    c.check(one_error(proc, "format version 5 is not supported", "convert the model again"), f"old package: {proc.stderr!r}")

# Not a package.
proc = run([K, "verify", hf], check=False)
c.check(one_error(proc, "is not a .kvlm package"), f"verify of a directory: {proc.stderr!r}")
proc = run([K, "verify", os.path.join(args.workdir, "missing.kvlm")], check=False)
c.check(one_error(proc, "package not found"), f"verify of a missing file: {proc.stderr!r}")
c.finish()
