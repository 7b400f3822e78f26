"""kvlm pull / list / rm against a local stand-in for the Hugging Face hub.

The stand-in (http.server on 127.0.0.1) speaks the hub's layout: the model API
GET /api/models/{repo}/revision/{rev}?blobs=true (siblings with size, blobId and,
for LFS files, lfs.sha256), and GET /{repo}/resolve/{commit}/{file}, which
serves git files itself (ETag = blob id) and answers LFS files with a 302 to a
CDN on another port (X-Repo-Commit, X-Linked-Etag, X-Linked-Size). The
checksums are computed here with hashlib from the source bytes. Checked:

- a pull whose weights connection drops mid-file retries with a Range request,
  and the installed files are byte-identical to the source (sha256), with no
  .part or staging left; the pulled model runs as kv:NAME and gives the same
  greedy ids as the source directory;
- a sharded repository (model.safetensors.index.json); a pull cut off with
  --retries 0 fails in one line, keeps the .part, and the next pull resumes it
  with Range from the kept size without fetching finished files again;
- a file whose bytes do not match the hub's sha256: one error line, exit 1,
  no file under its final name;
- a gated repository: 401 without a token (one line naming the repository's
  page and HF_TOKEN), 403 with a wrong one, success with HF_TOKEN, whose
  Authorization header reaches the hub but not the CDN;
- one GGUF file (REPO:FILE), with a progress bar only when stderr is a
  terminal (a pty); a missing repository (401 without a token, 404
  with one); an unknown short name; no network (a refused connection); bad
  --retries numbers; each failure leaves no staging directory behind;
- after a corrupt download is fixed on the hub, the next pull installs it
  without fetching the verified small files again;
- kvlm info kv:NAME reads a pulled model;
- kvlm list (table and --json, sizes against os.stat; a missing and an empty
  models directory) and kvlm rm (installed, partial, GGUF, unknown, a path).
"""
import hashlib
import http.server
import json
import os
import pty
import shutil
import socket
import subprocess
import sys
import threading
import urllib.parse

import safetensors_util as st
from kvlm_test_util import Checker, parse_args, run, tiny_chat_model

args = parse_args()
c = Checker()
work = os.path.abspath(args.workdir)
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_test_secret"

# --- the repositories the stand-in serves -------------------------------------
src = tiny_chat_model(args.kvlm, os.path.join(work, "src"))
src_files = sorted(f for f in os.listdir(src) if os.path.isfile(os.path.join(src, f)))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def repo_of(files):
    return {name: read(os.path.join(src, name)) if isinstance(data, str) else data for name, data in files.items()}


base = {name: name for name in src_files}  # name -> source file
header, tensors = st.read(os.path.join(src, "model.safetensors"))
shard_dir = os.path.join(work, "shards")
os.makedirs(shard_dir, exist_ok=True)
first = {n for n in header if n.startswith("model.layers.0.") or n == "model.norm.weight"}
ha, da, hb, db = st.split(header, tensors, first)
st.write(os.path.join(shard_dir, "model-00001-of-00002.safetensors"), ha, da)
st.write(os.path.join(shard_dir, "model-00002-of-00002.safetensors"), hb, db)
weight_map = {n: "model-00001-of-00002.safetensors" for n in ha}
weight_map.update({n: "model-00002-of-00002.safetensors" for n in hb})

REPOS = {
    "test-org/Tiny-Llama": {"files": repo_of(base)},
    "test-org/Sharded-Llama": {"files": {
        **{k: v for k, v in repo_of(base).items() if k != "model.safetensors"},
        "model.safetensors.index.json": json.dumps({"metadata": {}, "weight_map": weight_map}).encode(),
        "model-00001-of-00002.safetensors": read(os.path.join(shard_dir, "model-00001-of-00002.safetensors")),
        "model-00002-of-00002.safetensors": read(os.path.join(shard_dir, "model-00002-of-00002.safetensors")),
        "README.md": b"not fetched\n",
    }},
    "test-org/Gated-Llama": {"files": repo_of(base), "gated": "manual"},
    "test-org/Corrupt-Llama": {"files": repo_of(base), "corrupt": "model.safetensors"},
    "test-org/Tiny-GGUF": {"files": {
        "tiny-llama-Q8_0.gguf": b"GGUF" + bytes(range(256)) * 40000,
        "README.md": b"a GGUF repository\n",
    }},
}
LFS_SUFFIXES = (".safetensors", ".gguf")


def is_lfs(name):
    return name.endswith(LFS_SUFFIXES)


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --- the stand-in: a hub and a CDN on two ports ------------------------------
class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.log = []     # (server, path, range header, authorization header)
        self.drops = {}   # (repo, file) -> how many more requests to cut off mid-body
        self.sent_before_drop = {}  # (repo, file) -> body bytes sent by the last cut-off response

    def record(self, *entry):
        with self.lock:
            self.log.append(entry)

    def requests(self, server=None, path_part=""):
        with self.lock:
            return [e for e in self.log if (server is None or e[0] == server) and path_part in e[1]]


state = State()


class Handler(http.server.BaseHTTPRequestHandler):
    server_name = "hub"

    def log_message(self, *a):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status, code, message):
        self.send(status, json.dumps({"error": message}).encode(),
                  [("X-Error-Code", code), ("X-Error-Message", message), ("Content-Type", "application/json")])


class Hub(Handler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        state.record("hub", self.path, self.headers.get("Range"), self.headers.get("Authorization"))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "revision":
            return self.api("/".join(parts[2:4]), url.query)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
        self.send(404, b"no such page\n")

    def api(self, repo, query):
        if repo not in REPOS:  # as the hub: 401 to anonymous callers, 404 to signed-in ones
            status = 404 if self.headers.get("Authorization") else 401
            return self.refuse(status, "RepoNotFound", "Repository not found")
        r = REPOS[repo]
        siblings = []
        blobs = "blobs=true" in query
        for name, data in sorted(r["files"].items()):
            s = {"rfilename": name}
            if blobs:
                s.update(size=len(data), blobId=git_blob_id(data))
                if is_lfs(name):
                    s["lfs"] = {"sha256": sha256(data), "size": len(data), "pointerSize": 134}
            siblings.append(s)
        body = {"id": repo, "sha": COMMIT, "private": False, "gated": r.get("gated", False), "siblings": siblings}
        self.send(200, json.dumps(body).encode(), [("Content-Type", "application/json")])

    def resolve(self, repo, revision, name):
        r = REPOS.get(repo)
        if r is None:
            return self.refuse(401, "RepoNotFound", "Repository not found")
        if r.get("gated"):
            auth = self.headers.get("Authorization")
            if auth is None:
                return self.refuse(401, "GatedRepo", f"Access to model {repo} is restricted.")
            if auth != "Bearer " + TOKEN:
                return self.refuse(403, "GatedRepo", f"Access to model {repo} is restricted and you are not in the authorized list.")
        if revision != COMMIT:
            return self.refuse(404, "RevisionNotFound", "Invalid rev id")
        if name not in r["files"]:
            return self.refuse(404, "EntryNotFound", "Entry not found")
        data = r["files"][name]
        common = [("X-Repo-Commit", COMMIT)]
        if is_lfs(name):
            location = f"http://127.0.0.1:{cdn.server_port}/cdn/{urllib.parse.quote(repo, safe='')}/{sha256(data)}/{name}"
            return self.send(302, b"", common + [("Location", location), ("X-Linked-Etag", f'"{sha256(data)}"'),
                                                 ("X-Linked-Size", str(len(data))), ("ETag", f'"{git_blob_id(data)}"')])
        self.send(200, data, common + [("ETag", f'"{git_blob_id(data)}"')])


class Cdn(Handler):
    def do_GET(self):
        # Split before unquoting: the repository is one segment, its "/" sent as %2F.
        raw = urllib.parse.urlsplit(self.path).path
        state.record("cdn", self.path, self.headers.get("Range"), self.headers.get("Authorization"))
        _, _, repo, digest, name = (urllib.parse.unquote(x) for x in raw.split("/", 4))
        data = REPOS[repo]["files"][name]
        if REPOS[repo].get("corrupt") == name:
            data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
        body = data[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", f'"{digest}"')
        self.end_headers()
        key = (repo, name)
        with state.lock:
            drop = state.drops.get(key, 0) > 0
            if drop:
                state.drops[key] -= 1
        if drop:  # half the body, then the connection goes away
            cut = len(body) // 2
            self.wfile.write(body[:cut])
            self.wfile.flush()
            state.sent_before_drop[key] = start + cut
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


hub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
cdn = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cdn)
for s in (hub, cdn):
    threading.Thread(target=s.serve_forever, daemon=True).start()
ENDPOINT = f"http://127.0.0.1:{hub.server_port}"

# --- helpers ---------------------------------------------------------------------
models = os.path.join(work, "models")
shutil.rmtree(models, ignore_errors=True)
hf_home = os.path.join(work, "hf_home")  # no token file there
env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
env.update(KVLM_MODELS=models, HF_ENDPOINT=ENDPOINT, HF_HOME=hf_home, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1",
           KVLM_CACHE_DIR=os.path.join(work, "package-cache"))  # run's packages of the pulled directories


def kvlm(*cmd, extra_env=None):
    e = dict(env, **(extra_env or {}))
    return subprocess.run([args.kvlm, *cmd], capture_output=True, text=True, env=e, timeout=300)


def one_line_failure(p, label, *needles):
    lines = p.stderr.strip().splitlines()
    errors = [l for l in lines if l.startswith("kvlm: error: ")]
    c.check(p.returncode != 0, f"{label}: exit status {p.returncode}, expected non-zero")
    c.check(len(errors) == 1 and lines[-1] == errors[0], f"{label}: not one error line last: {lines}")
    for n in needles:
        c.check(any(n in l for l in errors), f"{label}: error line lacks '{n}': {errors}")


def same_tree(local_dir, files, label):
    want = {n: sha256(d) for n, d in files.items()}
    got = {n: sha256(read(os.path.join(local_dir, n))) for n in os.listdir(local_dir)} if os.path.isdir(local_dir) else {}
    c.check(got == want, f"{label}: installed files differ from the repository's: {sorted(got)} vs {sorted(want)}")


def leftovers():
    out = []
    for root, dirs, files in os.walk(models):
        out += [os.path.join(root, n) for n in files if n.endswith(".part")]
        out += [os.path.join(root, n) for n in dirs if n.startswith(".")]
    return out


def greedy(model):
    p = run([args.kvlm, "run", "-m", model, "--ids", "128000,9906,1917", "-n", "8", "--dtype", "f32", "--json"],
            check=False, env=dict(env))
    return json.loads(p.stdout)["generated_ids"] if p.returncode == 0 else p.stderr.strip()


model_files = {k: v for k, v in REPOS["test-org/Tiny-Llama"]["files"].items()}
reference_ids = greedy(src)

# 1. a pull whose weights connection drops once: retried with Range, installed whole
state.drops[("test-org/Tiny-Llama", "model.safetensors")] = 1
p = kvlm("pull", "test-org/Tiny-Llama")
c.check(p.returncode == 0, f"pull with a dropped connection failed: {p.stderr.strip()}")
target = os.path.join(models, "tiny-llama")
c.check(p.stdout.strip() == target, f"pull printed {p.stdout.strip()!r}, expected {target}")
same_tree(target, model_files, "pull after a drop")
c.check(leftovers() == [], f"pull left staging files: {leftovers()}")
cdn_reqs = state.requests("cdn", "/model.safetensors")
ranges = [r[2] for r in cdn_reqs]
cut = state.sent_before_drop.get(("test-org/Tiny-Llama", "model.safetensors"))
c.check(len(cdn_reqs) == 2 and ranges[0] is None and ranges[1] == f"bytes={cut}-",
        f"expected a plain GET then Range bytes={cut}-, got {ranges}")
api = state.requests("hub", "/api/models/test-org/Tiny-Llama")
c.check(len(api) == 1 and "blobs=true" in api[0][1], f"API request: {api}")
c.check("\r" not in p.stderr and len(p.stderr.strip().splitlines()) <= 6,
        f"plain progress (stderr not a terminal) should be a few lines: {p.stderr!r}")
c.check(any("retrying" in l for l in p.stderr.splitlines()), f"no retry notice: {p.stderr!r}")
c.check(greedy("kv:tiny-llama") == reference_ids, "kv:tiny-llama does not generate what the source directory does")
p = kvlm("info", "-m", "kv:tiny-llama")
c.check(p.returncode == 0 and "format:           huggingface" in p.stdout and "layers:           3" in p.stdout,
        f"info kv:tiny-llama: {p.returncode} {p.stdout!r} {p.stderr.strip()}")

# 2. pulling it again changes nothing and asks the network nothing
before = len(state.log)
p = kvlm("pull", "test-org/Tiny-Llama")
c.check(p.returncode == 0 and "already installed" in p.stderr and len(state.log) == before,
        f"second pull: rc {p.returncode}, {p.stderr.strip()}, {len(state.log) - before} requests")

# 3. sharded; cut off with --retries 0, then resumed by the next pull
sharded = "test-org/Sharded-Llama"
shard2 = "model-00002-of-00002.safetensors"
state.drops[(sharded, shard2)] = 1
p = kvlm("pull", sharded, "--retries", "0")
one_line_failure(p, "cut-off pull", "resumes")
staging = os.path.join(models, ".sharded-llama.pull")
part = os.path.join(staging, shard2 + ".part")
kept = os.path.getsize(part) if os.path.exists(part) else -1
c.check(kept == state.sent_before_drop.get((sharded, shard2)), f"kept .part has {kept} bytes, server sent "
        f"{state.sent_before_drop.get((sharded, shard2))}")
c.check(not os.path.exists(os.path.join(models, "sharded-llama")), "a cut-off pull installed the model")
c.check(not os.path.exists(os.path.join(staging, shard2)), "a cut-off file got its final name")
shard1_before = len(state.requests("cdn", "model-00001"))
p = kvlm("pull", sharded)
c.check(p.returncode == 0, f"resumed pull failed: {p.stderr.strip()}")
resumed = state.requests("cdn", "/" + shard2)
c.check(resumed and resumed[-1][2] == f"bytes={kept}-", f"resume did not ask for bytes={kept}-: {resumed}")
c.check(len(state.requests("cdn", "model-00001")) == shard1_before, "the resumed pull fetched the finished shard again")
c.check(not any("README" in r[1] for r in state.log), "pull fetched a file the model does not need")
same_tree(os.path.join(models, "sharded-llama"), {k: v for k, v in REPOS[sharded]["files"].items() if k != "README.md"},
          "resumed sharded pull")
c.check(leftovers() == [], f"resumed pull left staging files: {leftovers()}")
c.check(greedy("kv:sharded-llama") == reference_ids, "kv:sharded-llama does not generate what the source does")

# 4. a corrupt file: one line, no file under its final name
p = kvlm("pull", "test-org/Corrupt-Llama")
one_line_failure(p, "corrupt file", "sha256", "model.safetensors", "corrupt")
c.check(not os.path.exists(os.path.join(models, "corrupt-llama")), "a corrupt pull was installed")
corrupt_staging = os.path.join(models, ".corrupt-llama.pull")
present = os.listdir(corrupt_staging) if os.path.isdir(corrupt_staging) else []
c.check(not any(n.startswith("model.safetensors") for n in present), f"corrupt weights kept: {present}")
del REPOS["test-org/Corrupt-Llama"]["corrupt"]  # the hub's copy is fixed
small_before = len(state.requests("hub", "Corrupt-Llama/resolve/"))
p = kvlm("pull", "test-org/Corrupt-Llama")
c.check(p.returncode == 0, f"pull after the corrupt one: {p.stderr.strip()}")
same_tree(os.path.join(models, "corrupt-llama"), model_files, "pull after the corrupt one")
refetched = [r[1] for r in state.requests("hub", "Corrupt-Llama/resolve/")[small_before:]]
c.check(len(refetched) == 1 and refetched[0].endswith("/model.safetensors"),
        f"the pull after the corrupt one should fetch only the weights again: {refetched}")
c.check(leftovers() == [], f"pull after the corrupt one left staging files: {leftovers()}")

# a pull left cut off (it shows in list as partial, and rm removes it)
state.drops[("test-org/Tiny-Llama", "model.safetensors")] = 1
p = kvlm("pull", "test-org/Tiny-Llama", "--name", "partial-llama", "--retries", "0")
one_line_failure(p, "cut-off pull kept for later", "resumes")
partial_staging = os.path.join(models, ".partial-llama.pull")
c.check(os.path.isdir(partial_staging), "a cut-off pull kept no staging directory")

# 5. gated: 401 without a token, 403 with a wrong one, then HF_TOKEN
gated = "test-org/Gated-Llama"
p = kvlm("pull", gated)
one_line_failure(p, "gated without token", f"{ENDPOINT}/{gated}", "HF_TOKEN", "gated", "401")
c.check(not os.path.exists(os.path.join(models, ".gated-llama.pull")), "a refused pull left a staging directory")
p = kvlm("pull", gated, extra_env={"HF_TOKEN": "hf_wrong"})
one_line_failure(p, "gated with a wrong token", f"{ENDPOINT}/{gated}", "403")
c.check(not os.path.exists(os.path.join(models, ".gated-llama.pull")), "a refused pull left a staging directory")
hub_before = len(state.requests("hub", "/resolve/"))
cdn_before = len(state.requests("cdn"))
p = kvlm("pull", gated, "--name", "gated-model", extra_env={"HF_TOKEN": TOKEN})
c.check(p.returncode == 0, f"gated pull with HF_TOKEN failed: {p.stderr.strip()}")
same_tree(os.path.join(models, "gated-model"), model_files, "gated pull")
hub_auth = [r[3] for r in state.requests("hub", "/resolve/")[hub_before:]]
cdn_auth = [r[3] for r in state.requests("cdn")[cdn_before:]]
c.check(hub_auth and all(a == "Bearer " + TOKEN for a in hub_auth), f"hub requests' Authorization: {hub_auth}")
c.check(cdn_auth and all(a is None for a in cdn_auth), f"the token went to the CDN: {cdn_auth}")

# 6. one GGUF file
gguf_repo = "test-org/Tiny-GGUF"
p = kvlm("pull", gguf_repo + ":tiny-llama-Q8_0.gguf")
gguf_path = os.path.join(models, "tiny-llama-q8_0.gguf")
c.check(p.returncode == 0 and p.stdout.strip() == gguf_path, f"GGUF pull: {p.returncode} {p.stdout} {p.stderr}")
c.check(os.path.exists(gguf_path) and sha256(read(gguf_path)) == sha256(REPOS[gguf_repo]["files"]["tiny-llama-Q8_0.gguf"]),
        "the pulled GGUF differs from the repository's")
# on a terminal the same pull draws a progress bar (\r redraws) and ends its line
master, slave = pty.openpty()
with os.fdopen(master, "rb", buffering=0) as tty_out:
    proc = subprocess.Popen([args.kvlm, "pull", gguf_repo + ":tiny-llama-Q8_0.gguf", "--name", "tty-gguf"],
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = tty_out.read(4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    proc.wait(timeout=300)
drawn = drawn.decode(errors="replace")
c.check(proc.returncode == 0 and "\r" in drawn and "tiny-llama-Q8_0.gguf" in drawn and "sha256 ok" in drawn,
        f"pull on a terminal: rc {proc.returncode}, {drawn!r}")
p = kvlm("rm", "tty-gguf")
c.check(p.returncode == 0, f"rm tty-gguf: {p.stderr.strip()}")
p = kvlm("pull", gguf_repo)
one_line_failure(p, "GGUF repository pulled as safetensors", "tiny-llama-Q8_0.gguf")
p = kvlm("pull", gguf_repo + ":missing.gguf")
one_line_failure(p, "missing GGUF file", "missing.gguf")

# 7. bad names and repositories
p = kvlm("pull", "test-org/No-Such-Repo")
one_line_failure(p, "missing repository", "test-org/No-Such-Repo", "401")
p = kvlm("pull", "test-org/No-Such-Repo", extra_env={"HF_TOKEN": TOKEN})
one_line_failure(p, "missing repository (signed in)", "test-org/No-Such-Repo", "404")
with socket.socket() as s:  # a port nothing listens on: the connection is refused
    s.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{s.getsockname()[1]}"
p = kvlm("pull", "test-org/Tiny-GGUF:tiny-llama-Q8_0.gguf", "--name", "offline", extra_env={"HF_ENDPOINT": closed})
one_line_failure(p, "no network", closed, "no network")
for bad, needle in [("abc", "whole number"), ("-1", "between 0 and 100"), ("101", "between 0 and 100")]:
    p = kvlm("pull", "test-org/Tiny-Llama", "--name", "bad-retries", "--retries", bad)
    one_line_failure(p, f"--retries {bad}", "--retries", needle)
p = kvlm("pull", "no-such-model")
one_line_failure(p, "unknown short name", "llama-3.2-1b-instruct")
p = kvlm("pull", "bad repo/x y")
one_line_failure(p, "malformed repository id", "bad repo")
p = kvlm("pull", "test-org/Tiny-Llama", extra_env={"HF_ENDPOINT": "ftp://example"})
one_line_failure(p, "bad HF_ENDPOINT", "HF_ENDPOINT")
staged = sorted(n for n in os.listdir(models) if n.startswith("."))
c.check(staged == [".partial-llama.pull"], f"failed pulls left staging directories: {staged}")

# 8. list: the installed models with their sizes, and the corrupt pull's leftovers as partial
def tree_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


p = kvlm("list", "--json")
listed = json.loads(p.stdout) if p.returncode == 0 else []
by_name = {(m["name"], m["format"]): m for m in listed}
for name, fmt, path in [("tiny-llama", "safetensors", target), ("sharded-llama", "safetensors", os.path.join(models, "sharded-llama")),
                        ("gated-model", "safetensors", os.path.join(models, "gated-model")), ("tiny-llama-q8_0", "gguf", gguf_path)]:
    m = by_name.get((name, fmt))
    c.check(m is not None and m["path"] == path and m["bytes"] == tree_bytes(path), f"list: {name} ({fmt}) is {m}")
c.check(len(listed) == 6 and ("partial-llama", "partial") in by_name and ("corrupt-llama", "safetensors") in by_name,
        f"list: {sorted(by_name)}")
p = kvlm("list")
rows = p.stdout.splitlines()
c.check(p.returncode == 0 and rows[0].split() == ["NAME", "FORMAT", "SIZE", "PATH"] and len(rows) == 7
        and any(r.split()[0] == "tiny-llama" and r.endswith(target) for r in rows[1:]), f"list table: {rows}")

# 9. rm
p = kvlm("rm", "tiny-llama")
c.check(p.returncode == 0 and not os.path.exists(target), f"rm tiny-llama: {p.returncode} {p.stderr.strip()}")
c.check(os.path.exists(os.path.join(models, "sharded-llama")), "rm removed another model")
p = kvlm("rm", "tiny-llama")
one_line_failure(p, "rm of a removed model", "tiny-llama", "kvlm list")
p = kvlm("run", "-m", "kv:tiny-llama", "--ids", "1", "-n", "1")
c.check(p.returncode != 0, "kv:tiny-llama still runs after rm")
p = kvlm("rm", "partial-llama")
c.check(p.returncode == 0 and not os.path.exists(partial_staging), f"rm of a partial pull: {p.stderr.strip()}")
p = kvlm("rm", "kv:corrupt-llama")
c.check(p.returncode == 0 and not os.path.exists(os.path.join(models, "corrupt-llama")), f"rm kv:NAME: {p.stderr.strip()}")
p = kvlm("rm", "tiny-llama-q8_0")
c.check(p.returncode == 0 and not os.path.exists(gguf_path), f"rm of a GGUF: {p.stderr.strip()}")
p = kvlm("rm", "../models")
one_line_failure(p, "rm of a path", "model name")
names = sorted(m["name"] for m in json.loads(kvlm("list", "--json").stdout))
c.check(names == ["gated-model", "sharded-llama"], f"list after rm: {names}")

# 10. list and rm where there is nothing: a missing and an empty models directory
for label, d in [("missing", os.path.join(work, "no-models")), ("empty", os.path.join(work, "empty-models"))]:
    shutil.rmtree(d, ignore_errors=True)
    if label == "empty":
        os.makedirs(d)
    e = {"KVLM_MODELS": d}
    p = kvlm("list", extra_env=e)
    c.check(p.returncode == 0 and p.stdout == "" and "no models in " + d in p.stderr,
            f"list of a {label} directory: {p.returncode} {p.stdout!r} {p.stderr!r}")
    p = kvlm("list", "--json", extra_env=e)
    c.check(p.returncode == 0 and json.loads(p.stdout) == [], f"list --json of a {label} directory: {p.stdout!r}")
    p = kvlm("rm", "tiny-llama", extra_env=e)
    one_line_failure(p, f"rm in a {label} directory", "tiny-llama", d)
    c.check(os.path.exists(d) == (label == "empty"), f"rm created or removed the {label} directory")

hub.shutdown()
cdn.shutdown()
c.finish()
