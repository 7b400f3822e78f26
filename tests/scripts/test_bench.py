"""kvlm bench on a tiny synth model and its package: the report is complete and
self-consistent (no timing is asserted, only structure and arithmetic):
- every requested prefill length is reported, tokens/s = tokens / ms;
- the floor is the package's weight bytes over the best probe bandwidth, the
  share is floor / median decode, and each paired round's share is its own
  probe's floor over its own decode;
- the cold start ran in child processes and reported their peak RSS;
- a package's mapping covers the whole file (none for a directory or a copy);
- by default a package mostly in small pages is copied and one mostly in
  2 MiB pages is mapped (against the whole mapping's count); --mmap maps,
  --no-mmap copies;
- bad arguments give one error line and a non-zero exit, and so does a model
  the cold-start child cannot load (its error, not the child's and then ours)."""
import os
import re

from kvlm_test_util import Checker, parse_args, run, run_json

args = parse_args()
c = Checker()
K = args.kvlm
hf = os.path.join(args.workdir, "tiny-llama")
pkg = os.path.join(args.workdir, "tiny-llama-q8.kvlm")
run([K, "synth", "--shape", "tiny-llama", "--seed", "5", "-o", hf])
run([K, "convert", hf, "-o", pkg, "--dtype", "q8", "-q"])

for model in (hf, pkg):
    rep = run_json([K, "bench", "-m", model, "-p", "4,9", "-n", "5", "--reps", "2", "-t", "2",
                    "--bandwidth-gib", "0.05", "--json"])
    c.check([p["tokens"] for p in rep["prefill"]] == [4, 9], f"{model}: prefill lengths {rep['prefill']}")
    for p in rep["prefill"]:
        c.check(abs(p["tokens_per_s"] - p["tokens"] / p["ms"] * 1e3) < 1e-6 * p["tokens_per_s"], f"{model}: tokens/s {p}")
        c.check(0 < p["min_ms"] <= p["ms"], f"{model}: min <= median {p}")
    d = rep["decode_ms_per_token"]
    c.check(0 < d["min"] <= d["median"] <= d["max"], f"{model}: decode stats {d}")
    c.check(rep["decode_tokens"] == 5 and rep["decode_context"] == 4, f"{model}: decode shape {rep}")
    bw = rep["bandwidth_gbs"]
    rounds = rep["paired_rounds"]
    c.check(len(rounds["bandwidth_gbs"]) == len(rounds["decode_ms_per_token"]) == len(rounds["floor_share"]) == 3,
            f"{model}: paired rounds {rounds}")
    c.check(all(b <= bw for b in rounds["bandwidth_gbs"]), f"{model}: the floor uses the best probe {bw} {rounds}")
    floor = rep["bytes_per_token"] / (bw * 1e9) * 1e3
    c.check(abs(rep["decode_floor_ms"] - floor) < 1e-9 * floor, f"{model}: floor {rep['decode_floor_ms']} vs {floor}")
    c.check(abs(rep["decode_floor_share"] - floor / d["median"]) < 1e-9, f"{model}: floor share")
    for b, ms, share in zip(rounds["bandwidth_gbs"], rounds["decode_ms_per_token"], rounds["floor_share"]):
        c.check(abs(share - rep["bytes_per_token"] / (b * 1e9) * 1e3 / ms) < 1e-9, f"{model}: round share {b} {ms} {share}")
    shares = sorted(rounds["floor_share"])
    c.check(rep["decode_floor_share_paired"] == shares[1], f"{model}: paired share is the median round")
    c.check(len(rep["cold_start_ms_all"]) == 2 and rep["cold_start_ms"] > 0 and rep["cold_start_peak_rss_mb"] > 0,
            f"{model}: cold start {rep['cold_start_ms_all']}")
    c.check(rep["peak_rss_mb"] > 0 and rep["dtype"] in ("f16", "q8"), f"{model}: rss / dtype")
    mapped, huge = rep["package_mapped_mb"], rep["package_huge_mapped_mb"]
    if model == hf:  # several safetensors files, not one package: nothing to report
        c.check(mapped is None and huge is None, f"{model}: no package mapping {mapped} {huge}")
    else:  # the whole file, in whole pages
        size = os.path.getsize(pkg)
        c.check(size <= round(mapped * 1e6) < size + 4096 and 0 <= huge <= mapped,
                f"{model}: package mapping {mapped} MB ({huge} MB huge) of a {size}-byte file")
c.check(rep["dtype"] == "q8" and 0 < rep["bytes_per_token"] <= os.path.getsize(pkg),
        f"package: q8 weights within the file: {rep['bytes_per_token']} of {os.path.getsize(pkg)}")

text = run([K, "bench", "-m", pkg, "-p", "4", "-n", "3", "--reps", "1", "--bandwidth-gib", "0.05", "--no-cold-start"]).stdout
c.check("paired rounds" in text and "of the floor" in text and "package mapping:" in text, f"text report: {text}")
copied = run_json([K, "bench", "-m", pkg, "-p", "4", "-n", "3", "--reps", "1", "--bandwidth-gib", "0.05",
                   "--no-cold-start", "--no-mmap", "--json"])
c.check(copied["package_mapped_mb"] is None, f"--no-mmap maps no package: {copied['package_mapped_mb']}")

# Weight memory. By default a package the page cache holds in pages the kernel
# maps 4 KiB at a time is copied, one it maps with 2 MiB entries is mapped.
# The reference for how it maps is the whole mapping's count (bench --mmap),
# not the loader's sample; near the 0.8 threshold nothing is asserted. The
# package is padded to 10 MiB (bytes no blob names) so that it has 2 MiB
# regions, and cached two ways: as written, and dropped and read back.
padded = os.path.join(args.workdir, "tiny-llama-padded.kvlm")
with open(pkg, "rb") as f:
    data = f.read()
thp_path = "/sys/kernel/mm/transparent_hugepage/enabled"
anon_huge = os.path.exists(thp_path) and "[never]" not in open(thp_path).read()


def bench_memory(*extra):
    return run_json([K, "bench", "-m", padded, "-p", "4", "-n", "2", "--reps", "1", "--bandwidth-gib", "0.05",
                     "--no-cold-start", "--json", *extra])


seen = set()
for state in ("as written", "read back"):
    with open(padded, "wb") as f:
        f.write(data + bytes(max(0, (10 << 20) - len(data))))
    if state == "read back":
        fd = os.open(padded, os.O_RDONLY)
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while os.read(fd, 1 << 20):
            pass
        os.close(fd)
    forced = bench_memory("--mmap")
    maps = forced["weight_memory"] == "mapped" and bool(forced["package_mapped_mb"])
    c.check(maps, f"{state}: --mmap maps")
    if not maps:
        continue
    share = forced["package_huge_mapped_mb"] / forced["package_mapped_mb"]
    chosen = bench_memory()["weight_memory"]
    seen.add(chosen)
    if anon_huge and share < 0.6:
        c.check(chosen == "copied", f"{state}: {share:.2f} of it in 2 MiB entries, yet {chosen}")
    elif share > 0.95 or not anon_huge:
        c.check(chosen == "mapped", f"{state}: {share:.2f} of it in 2 MiB entries, yet {chosen}")
    c.check(bench_memory("--no-mmap")["weight_memory"] == "copied", f"{state}: --no-mmap copies")
print(f"weight memory chosen: {sorted(seen)}")

for bad, words in [(["-p", "4,x"], "prompt length"), (["-p", "600"], "exceeds the context"),
                   (["-p", "500", "-n", "40"], "exceeds the context"), (["--mmap", "--no-mmap"], "excludes")]:
    proc = run([K, "bench", "-m", pkg, *bad, "--no-cold-start"], check=False)
    lines = proc.stderr.strip().splitlines()
    c.check(proc.returncode > 0 and len(lines) == 1 and words in proc.stderr, f"bench {bad}: {proc.stderr!r}")

old = os.path.join(args.workdir, "tiny-llama-old.kvlm")
with open(pkg, "rb") as f:
    data = f.read()
with open(old, "wb") as f:
    f.write(re.sub(rb'"format_version":\d+', b'"format_version":3', data, count=1))
proc = run([K, "bench", "-m", old, "-p", "4", "-n", "3", "--reps", "1"], check=False)
lines = proc.stderr.strip().splitlines()
c.check(proc.returncode > 0 and len(lines) == 1 and "format version 3" in proc.stderr and "convert" in proc.stderr,
        f"bench on an old package: {proc.stderr!r}")
c.finish()
