"""The package cache: a Hugging Face directory given to run / translate is
packed once into a .kvlm under $KVLM_CACHE_DIR; later starts use it, a
changed source gets a new package (the stale one is removed), --no-cache and
an unwritable cache load the directory directly, and every path gives the
same greedy text as a direct load."""
import glob
import os
import shutil

from kvlm_test_util import Checker, parse_args, run, tiny_chat_model

args = parse_args()
K = args.kvlm
c = Checker()
model = tiny_chat_model(K, os.path.join(args.workdir, "tiny"))
cache = os.path.join(args.workdir, "cache")
shutil.rmtree(cache, ignore_errors=True)
env = dict(os.environ, KVLM_CACHE_DIR=cache)
RUN = [K, "run", "-m", model, "-p", "The capital of France is", "-n", "12", "--greedy", "--seed", "1"]


def packages():
    return sorted(glob.glob(os.path.join(cache, "*.kvlm")))


direct = run(RUN + ["--no-cache"], env=env)
c.check(packages() == [], f"--no-cache wrote to the cache: {packages()}")
c.check("packing" not in direct.stderr, f"--no-cache packed: {direct.stderr!r}")

first = run(RUN, env=env)
c.check("packing" in first.stderr and "once" in first.stderr, f"first start does not say it packs: {first.stderr!r}")
c.check("\r" not in first.stderr, "a progress bar was drawn into a pipe")
c.check(len(packages()) == 1, f"expected one cached package, got {packages()}")
c.check(first.stdout == direct.stdout, f"cached run differs: {first.stdout!r} vs {direct.stdout!r}")
c.check(all(os.path.basename(p).startswith("tiny-f16-") for p in packages()), f"package names: {packages()}")

second = run(RUN, env=env)
c.check("packing" not in second.stderr, f"second start packed again: {second.stderr!r}")
c.check(second.stdout == direct.stdout, "second cached run differs")
stored = packages()

# A dtype is its own package; the f16 one stays.
q8 = run(RUN + ["--dtype", "q8"], env=env)
c.check("packing" in q8.stderr, "q8 did not pack its own package")
c.check(len(packages()) == 2, f"expected f16 and q8 packages, got {packages()}")
q8_direct = run(RUN + ["--dtype", "q8", "--no-cache"], env=env)
c.check(q8.stdout == q8_direct.stdout, f"cached q8 differs: {q8.stdout!r} vs {q8_direct.stdout!r}")

# A cut-off pack's temporary file (its process gone) is swept by the next pack
# of that source; one of a live process (this test's) stays.
prefix = os.path.basename([p for p in stored if "-f16-" in p][0])[:-(16 + 5)]
dead_tmp = os.path.join(cache, prefix + "0123456789abcdef.kvlm.tmp999999998")
live_tmp = os.path.join(cache, prefix + "0123456789abcdef.kvlm.tmp" + str(os.getpid()))
for path in (dead_tmp, live_tmp):
    open(path, "wb").close()

# A changed source file (new modification time) makes a new package and drops the stale one.
config = os.path.join(model, "config.json")
st = os.stat(config)
os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
third = run(RUN, env=env)
c.check("packing" in third.stderr, f"a touched source did not repack: {third.stderr!r}")
f16 = [p for p in packages() if "-f16-" in os.path.basename(p)]
c.check(len(f16) == 1 and f16 != [p for p in stored if "-f16-" in p], f"stale f16 package kept: {packages()}")
c.check(third.stdout == direct.stdout, "repacked run differs")
c.check(not os.path.exists(dead_tmp) and os.path.exists(live_tmp),
        f"abandoned temporary files: dead one kept {os.path.exists(dead_tmp)}, live one kept {os.path.exists(live_tmp)}")
os.remove(live_tmp)

# Services use the cache too.
tr = run([K, "translate", "-m", model, "--to", "French", "-n", "8", "Hello"], env=env)
tr_direct = run([K, "translate", "-m", model, "--to", "French", "-n", "8", "--no-cache", "Hello"], env=env)
c.check(tr.stdout == tr_direct.stdout, "translate through the cache differs")

# An unwritable cache (under a regular file, which even root cannot make a
# directory of): one warning, and the model loads directly.
blocker = os.path.join(args.workdir, "not-a-directory")
open(blocker, "w").close()
ro = run(RUN, env=dict(os.environ, KVLM_CACHE_DIR=os.path.join(blocker, "cache")))
c.check("not writable" in ro.stderr and ro.stdout == direct.stdout, f"unwritable cache: {ro.stderr!r}")

# A source that fails to load: only its error line, and nothing in the cache.
broken = os.path.join(args.workdir, "broken")
shutil.rmtree(broken, ignore_errors=True)
shutil.copytree(model, broken)
with open(os.path.join(broken, "config.json"), "w") as f:
    f.write("{ not json")
before = packages()
bad = run([K, "run", "-m", broken, "-p", "hi", "-n", "2"], check=False, env=env)
lines = bad.stderr.strip().splitlines()
c.check(bad.returncode != 0 and len(lines) == 1 and lines[0].startswith("kvlm:"),
        f"broken source: exit {bad.returncode}, stderr {bad.stderr!r}")
c.check(packages() == before and not glob.glob(os.path.join(cache, "*.tmp*")),
        f"a failed pack left files: {os.listdir(cache)}")

# A package given directly is never cached again.
pkg = os.path.join(args.workdir, "tiny.kvlm")
run([K, "convert", model, "-o", pkg, "--dtype", "f16", "-q"])
before = packages()
p = run([K, "run", "-m", pkg, "-p", "The capital of France is", "-n", "12", "--greedy"], env=env)
c.check(packages() == before and "packing" not in p.stderr, "a .kvlm input was packed")
c.check(p.stdout == direct.stdout, "the converted package's text differs")
c.finish()
