"""GGML block dequantization (ggml_dequantize, through the kvlm_ggml_dequant
test tool) against the gguf Python package's gguf.quants.dequantize, bit for
bit, for every type kvlm reads. Blocks are random bytes whose f16 scales are
random finite values of sensible and extreme magnitudes (subnormals, zeros,
the f16 maximum); F32/F16/BF16 are random finite values."""
import os
import subprocess

import numpy as np

from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run

args = parse_args()
c = Checker()
rng = np.random.default_rng(20240917)
# The test tools are built beside the tests: build/tests/kvlm_ggml_dequant.
tool = os.path.join(os.path.dirname(args.kvlm), "tests", "kvlm_ggml_dequant")
pyenv = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "python_env.sh")], capture_output=True, text=True,
                       check=True).stdout.strip()

BLOCKS = 4096
# name: (elements per block, bytes per block, byte offsets of the f16 scales)
TYPES = {
    "Q8_0": (32, 34, [0]),
    "Q4_0": (32, 18, [0]),
    "Q4_1": (32, 20, [0, 2]),
    "Q5_0": (32, 22, [0]),
    "Q5_1": (32, 24, [0, 2]),
    "Q4_K": (256, 144, [0, 2]),
    "Q5_K": (256, 176, [0, 2]),
    "Q6_K": (256, 210, [208]),
}


def random_f16_scales(n):
    """n finite f16 bit patterns: a mix of typical scales, any finite value,
    subnormals, signed zeros and the extremes."""
    kind = rng.integers(0, 6, size=n)
    typical = (rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 0, size=n)).astype(np.float16).view(np.uint16)
    anything = rng.integers(0, 0x10000, size=n, dtype=np.uint32).astype(np.uint16)
    anything = np.where((anything & 0x7C00) == 0x7C00, anything & 0x83FF, anything)  # inf/nan -> subnormal
    subnormal = (rng.integers(0, 0x400, size=n) | (rng.integers(0, 2, size=n) << 15)).astype(np.uint16)
    zero = (rng.integers(0, 2, size=n) << 15).astype(np.uint16)
    extreme = np.array([0x7BFF, 0xFBFF, 0x0400, 0x8400, 0x0001, 0x8001, 0x3C00, 0x7800], dtype=np.uint16)
    extreme = extreme[rng.integers(0, len(extreme), size=n)]
    out = np.select([kind == 0, kind == 1, kind == 2, kind == 3, kind == 4], [typical, typical, anything, subnormal,
                                                                                  zero], extreme)
    return out.astype(np.uint16)


def make_quant(nbytes, offsets):
    raw = rng.integers(0, 256, size=(BLOCKS, nbytes), dtype=np.uint8)
    for off in offsets:
        raw[:, off:off + 2] = random_f16_scales(BLOCKS).astype("<u2").view(np.uint8).reshape(BLOCKS, 2)
    return raw.reshape(-1)


def make_float(bits, n):
    """n random finite values of a float format with `bits` (16 or 32) bits."""
    if bits == 32:
        u = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
        u = np.where((u & 0x7F800000) == 0x7F800000, u & 0x807FFFFF, u)  # inf/nan -> subnormal
        u[: n // 8] = np.float32(rng.standard_normal(n // 8)).view(np.uint32)
        return u.astype("<u4").view(np.uint8)
    return random_f16_scales(n).astype("<u2").view(np.uint8)


def make_bf16(n):
    u = rng.integers(0, 0x10000, size=n, dtype=np.uint32).astype(np.uint16)
    u = np.where((u & 0x7F80) == 0x7F80, u & 0x807F, u)
    u[: n // 8] = (np.float32(rng.standard_normal(n // 8)).view(np.uint32) >> 16).astype(np.uint16)
    return u.astype("<u2").view(np.uint8)


cases = {name: make_quant(nbytes, offs) for name, (_, nbytes, offs) in TYPES.items()}
cases["F32"] = make_float(32, BLOCKS * 32)
cases["F16"] = make_float(16, BLOCKS * 32)
cases["BF16"] = make_bf16(BLOCKS * 32)

for name, raw in cases.items():
    raw.tofile(os.path.join(args.workdir, f"{name}.bin"))

# The reference, in the environment that holds gguf.
REFERENCE = """
import sys
import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize
workdir = sys.argv[1]
for name in sys.argv[2:]:
    raw = np.fromfile(f"{workdir}/{name}.bin", dtype=np.uint8)
    out = dequantize(raw, GGMLQuantizationType[name])
    assert out.dtype == np.float32, out.dtype
    out.astype("<f4").tofile(f"{workdir}/{name}.ref.f32")
"""
run([pyenv, "-c", REFERENCE, args.workdir, *cases])

for name, raw in cases.items():
    base = os.path.join(args.workdir, name)
    run([tool, name, base + ".bin", base + ".out.f32"])
    want = np.fromfile(base + ".ref.f32", dtype="<u4")
    got = np.fromfile(base + ".out.f32", dtype="<u4")
    c.check(len(got) == len(want), f"{name}: {len(got)} values, reference has {len(want)}")
    if len(got) == len(want):
        bad = np.flatnonzero(got != want)
        message = ""
        if len(bad):
            i = int(bad[0])
            message = (f"{name}: {len(bad)} of {len(want)} values differ; first at index {i} (block "
                       f"{i // TYPES.get(name, (1,))[0]}): got {got[i]:#010x} ({got[i:i + 1].view('<f4')[0]}), "
                       f"want {want[i]:#010x} ({want[i:i + 1].view('<f4')[0]})")
        c.check(len(bad) == 0, message)
    print(f"{name}: {len(raw) // TYPES[name][1]} blocks" if name in TYPES else f"{name}: {len(want)} values",
          "compared")

# Bad input: one line on stderr, exit 1.
truncated = os.path.join(args.workdir, "truncated.bin")
cases["Q4_K"][:143].tofile(truncated)
for argv, what in (([tool, "Q4_K", truncated, os.path.join(args.workdir, "x.f32")], "a partial block"),
                   ([tool, "Q3_K", truncated, os.path.join(args.workdir, "x.f32")], "an unsupported type")):
    proc = run(argv, check=False)
    c.check(proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1,
            f"{what}: exit {proc.returncode}, stderr {proc.stderr!r}")

c.finish()
