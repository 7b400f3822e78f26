"""cmake --install and embedding: configures, builds and installs kvlm from the
source tree into a fresh prefix (its own Release build directory, kept in the
workdir so that later runs rebuild only what changed; ccache when present),
then checks:
- the layout: headers, libkvlm.a and libkvlm.so, kvlmConfig.cmake and its
  version file, kvlm.pc, the CLI, the packs under share/kvlm/packs;
- examples/ builds through find_package(kvlm), linked shared and static, and
  examples/c/generate.c also through pkg-config (shared, and static with
  `pkg-config --static`), as C99 with -Wall -Wextra -pedantic -Werror;
- each `generate MODEL PROMPT 16` prints exactly what the installed
  `kvlm run -m MODEL -p PROMPT -n 16 --greedy` prints, on a synth model with
  the real Llama 3 tokenizer; the static builds need no libkvlm.so;
- the C++ example translates exactly as `kvlm translate`;
- the installed kvlm finds its packs from another working directory."""
import json
import os
import shutil

from kvlm_test_util import SOURCE_DIR, Checker, parse_args, run, run_json, tiny_chat_model

args = parse_args()
c = Checker()
work = os.path.abspath(args.workdir)
build, prefix = os.path.join(work, "build"), os.path.join(work, "prefix")
jobs = str(os.cpu_count() or 2)
# Child builds must not inherit a parent's choices (a CTest run inside a build).
env = {k: v for k, v in os.environ.items() if k not in ("KVLM_PACKS", "PKG_CONFIG_PATH", "CMAKE_PREFIX_PATH")}

# --- build and install: the library and CLI only; the prefix is given at install time ---
configure = ["cmake", "-S", SOURCE_DIR, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DKVLM_BUILD_TESTS=OFF",
             "-DKVLM_BUILD_BENCH=OFF"]
if shutil.which("ccache"):
    configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
run(configure, env=env)
run(["cmake", "--build", build, "-j", jobs], env=env)
shutil.rmtree(prefix, ignore_errors=True)
run(["cmake", "--install", build, "--prefix", prefix], env=env)

libdir = next((os.path.join(prefix, d) for d in ("lib", "lib64", "lib/x86_64-linux-gnu")
               if os.path.exists(os.path.join(prefix, d, "libkvlm.a"))), None)
c.check(libdir is not None, "libkvlm.a is installed under PREFIX/lib")
libdir = libdir or os.path.join(prefix, "lib")
for rel in ["include/kvlm/kvlm.h", "include/kvlm/session.h", "include/kvlm/providers.h", "bin/kvlm",
            "share/kvlm/packs/smoke.jsonl", "share/kvlm/packs/translation-fr.jsonl", "share/kvlm/packs/postprocess.jsonl"]:
    c.check(os.path.isfile(os.path.join(prefix, rel)), f"{rel} is installed")
for rel in ["libkvlm.so", "cmake/kvlm/kvlmConfig.cmake", "cmake/kvlm/kvlmConfigVersion.cmake",
            "cmake/kvlm/kvlmTargets.cmake", "pkgconfig/kvlm.pc"]:
    c.check(os.path.exists(os.path.join(libdir, rel)), f"{os.path.relpath(libdir, prefix)}/{rel} is installed")
c.check(not os.path.exists(os.path.join(prefix, "include/kvlm/c_api.h")), "internal headers stay private")
KVLM = os.path.join(prefix, "bin", "kvlm")

# --- the reference: the installed CLI's greedy text ---
model = os.path.join(work, "tiny")
tiny_chat_model(KVLM, model, seed=7)
PROMPT = "Grüße from the install test:"
want = run([KVLM, "run", "-m", model, "-p", PROMPT, "-n", "16", "--greedy"]).stdout
c.check(len(want.strip()) > 0, "kvlm run printed a continuation")


def needed(binary):
    out = run(["readelf", "-d", binary]).stdout
    return [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def check_generate(binary, how, static):
    if not os.path.exists(binary):
        c.check(False, f"{how}: {binary} was not built")
        return
    proc = run([binary, model, PROMPT, "16"], check=False, env=env)
    c.check(proc.returncode == 0 and proc.stdout == want,
            f"{how}: generate printed {proc.stdout!r} (status {proc.returncode}: {proc.stderr.strip()}), kvlm run {want!r}")
    linked = any(n.startswith("libkvlm.so") for n in needed(binary))
    c.check(linked != static, f"{how}: libkvlm.so {'is' if linked else 'is not'} a dependency ({needed(binary)})")


# --- find_package(kvlm): the examples, shared and static ---
for static in (False, True):
    kind = "static" if static else "shared"
    ex = os.path.join(work, f"examples-{kind}")
    shutil.rmtree(ex, ignore_errors=True)
    proc = run(["cmake", "-S", os.path.join(SOURCE_DIR, "examples"), "-B", ex, "-DCMAKE_BUILD_TYPE=Release",
                f"-DCMAKE_PREFIX_PATH={prefix}", f"-Dkvlm_USE_STATIC_LIBS={'ON' if static else 'OFF'}",
                "-DCMAKE_C_FLAGS=-Wall -Wextra -pedantic -Werror"], check=False, env=env)
    c.check(proc.returncode == 0, f"examples ({kind}): configure failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    proc = run(["cmake", "--build", ex, "-j", jobs], check=False, env=env)
    c.check(proc.returncode == 0, f"examples ({kind}): build failed: {proc.stdout[-3000:]} {proc.stderr[-2000:]}")
    check_generate(os.path.join(ex, "generate"), f"find_package {kind}", static)
    if not static:
        translate = os.path.join(ex, "translate")
        text = "The cat is on the table."
        ref = run_json([KVLM, "translate", "-m", model, "--to", "French", "--json", text])["text"]
        got = run([translate, model, "French", text], check=False, env=env) if os.path.exists(translate) else None
        c.check(got is not None and got.returncode == 0 and got.stdout == ref + "\n",
                f"the C++ example translates as kvlm translate: {got and got.stdout!r} vs {ref!r}")

# --- pkg-config: generate.c as strict C99, shared and static ---
pc_env = dict(env, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))


def pkg_config(*flags):
    return run(["pkg-config", *flags, "kvlm"], env=pc_env).stdout.split()


c.check(pkg_config("--modversion") != [], "pkg-config knows kvlm")
c.check(os.path.realpath(pkg_config("--variable=libdir")[0]) == os.path.realpath(libdir),
        "kvlm.pc's libdir follows the install prefix")
cc = os.environ.get("CC", "cc")
strict = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]
source = os.path.join(SOURCE_DIR, "examples", "c", "generate.c")
shared_bin, static_bin = os.path.join(work, "generate-pc-shared"), os.path.join(work, "generate-pc-static")
proc = run([cc, *strict, source, "-o", shared_bin, *pkg_config("--cflags", "--libs"), f"-Wl,-rpath,{libdir}"],
           check=False, env=pc_env)
c.check(proc.returncode == 0, f"cc with pkg-config --libs failed: {proc.stderr[-2000:]}")
check_generate(shared_bin, "pkg-config shared", False)
# Static: libkvlm.a itself in place of -lkvlm, and the private libraries of --static.
libs = [os.path.join(libdir, "libkvlm.a") if f == "-lkvlm" else f for f in pkg_config("--static", "--libs")]
proc = run([cc, *strict, source, "-o", static_bin, *pkg_config("--cflags"), *libs], check=False, env=pc_env)
c.check(proc.returncode == 0, f"cc with pkg-config --static --libs failed: {proc.stderr[-2000:]}")
check_generate(static_bin, "pkg-config static", True)

# --- the installed CLI finds its packs from anywhere ---
elsewhere = os.path.join(work, "elsewhere")
os.makedirs(elsewhere, exist_ok=True)
proc = run([KVLM, "eval", "-m", model, "--pack", "smoke", "-n", "2", "--json"], check=False, cwd=elsewhere, env=env)
pack = json.loads(proc.stdout)["pack"] if proc.returncode in (0, 1) and proc.stdout else None  # 1: the case fails
c.check(pack is not None and os.path.realpath(pack) == os.path.realpath(os.path.join(prefix, "share/kvlm/packs/smoke.jsonl")),
        f"eval --pack smoke from {elsewhere}: pack {pack!r} (status {proc.returncode}: {proc.stderr.strip()})")
c.finish()
