"""Two `kvlm serve` replicas behind nginx (Debian's package) on loopback, run
as the current user with everything under the workdir (docs/SERVING.md):
- requests through nginx succeed and alternate between the replicas (told
  apart by --name and the responses' `model`), with the same greedy text;
- a stream through nginx arrives as several SSE events, the first while the
  generation is still running (nginx does not buffer it), ending with
  `data: [DONE]`;
- one replica is killed (SIGKILL) while long streams run on both and a few
  client threads keep sending requests: every request sent after the kill
  succeeds on the other replica (no client retries: nginx routes around the
  dead one), requests in flight on the killed replica fail cleanly (an HTTP
  error or a dropped connection, never a hang), streams on the survivor go on.
The replicas use the slow reference backend so that a long stream is still
running when the kill comes (at least 80 ms a token), whatever the machine."""
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from kvlm_test_util import Checker, parse_args, tiny_chat_model

args = parse_args()
c = Checker()
K = args.kvlm
W = os.path.abspath(args.workdir)
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
if not NGINX:
    raise SystemExit("FAIL: nginx missing (run scripts/setup.sh)")
TIMEOUT = 60  # seconds any one request may take; a request that takes longer hangs

model = os.path.join(W, "tiny")
tiny_chat_model(K, model, seed=3)


class Replica:
    def __init__(self, name):
        self.name = name
        self.proc = subprocess.Popen([K, "serve", "-m", model, "--dtype", "q8", "--backend", "reference", "--port", "0",
                                      "--date", "2024-07-26", "--name", name, "--parallel", "6", "--queue", "8",
                                      "--ctx", "1024"], stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "http://" not in line:
            self.proc.kill()
            sys.exit(f"FAIL: kvlm serve did not start: {line}{self.proc.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1].split()[0].strip("/"))
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def health(self):
        return request(self.port, "GET", "/health")[1]


def request(port, method, path, body=None):
    """(status, parsed JSON body or the raw text) of one request; raises on a dropped connection or a timeout."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        text = r.read().decode()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text
    finally:
        conn.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NGINX_CONF = """\
# Written by tests/scripts/test_serve_replicas.py; as docs/SERVING.md.
{user}worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
  log_format upstream '$request $status upstream $upstream_addr $upstream_status';
  access_log {w}/nginx-access.log upstream;
  client_body_temp_path {w}/nginx-tmp/body;
  proxy_temp_path {w}/nginx-tmp/proxy;
  fastcgi_temp_path {w}/nginx-tmp/fastcgi;
  uwsgi_temp_path {w}/nginx-tmp/uwsgi;
  scgi_temp_path {w}/nginx-tmp/scgi;
  upstream kvlm {{
    server 127.0.0.1:{a} max_fails=1 fail_timeout=2s;
    server 127.0.0.1:{b} max_fails=1 fail_timeout=2s;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 1m;
    location / {{
      proxy_pass http://kvlm;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_connect_timeout 2s;
      proxy_read_timeout 300s;
      proxy_next_upstream error timeout http_502;
    }}
  }}
}}
"""


class Nginx:
    def __init__(self, a, b):
        os.makedirs(os.path.join(W, "nginx-tmp"), exist_ok=True)
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
        for _ in range(5):  # the free port may be taken between probing and nginx's bind
            self.port = free_port()
            with open(os.path.join(W, "nginx.conf"), "w") as f:
                f.write(NGINX_CONF.format(user=user, w=W, a=a.port, b=b.port, port=self.port))
            for log in ("nginx-error.log", "nginx-access.log"):
                open(os.path.join(W, log), "w").close()
            self.proc = subprocess.Popen([NGINX, "-p", W, "-e", os.path.join(W, "nginx-error.log"), "-c", "nginx.conf",
                                          "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.time() + 20
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if "in use" not in self.log("nginx-error.log"):
                break
        sys.exit(f"FAIL: nginx did not start:\n{self.proc.stderr.read().decode()}\n{self.log('nginx-error.log')}")

    @staticmethod
    def log(name):
        with open(os.path.join(W, name)) as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


class Stream(threading.Thread):
    """A streaming completion through nginx, read event by event. `model` is set
    from the first event; the stream ends with [DONE] ("done"), a dropped
    connection or an error event ("dropped"), a timeout ("hang"), or closes
    itself once `release` is set ("released")."""

    def __init__(self, port, max_tokens, chat=False):
        super().__init__(daemon=True)
        self.port, self.max_tokens, self.chat = port, max_tokens, chat
        self.first = threading.Event()
        self.release = threading.Event()
        self.model, self.outcome, self.status = None, None, None
        self.events = []  # (monotonic time, payload)

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        body = {"max_tokens": self.max_tokens, "temperature": 0, "stream": True}
        if self.chat:
            body["messages"] = [{"role": "user", "content": "Tell me a story."}]
        else:
            body["prompt"] = "Once upon a time"
        try:
            conn.request("POST", "/v1/chat/completions" if self.chat else "/v1/completions", body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            self.status = r.status
            while True:
                if self.release.is_set():
                    self.outcome = "released"
                    return
                line = r.readline()
                if not line:
                    self.outcome = "dropped"  # closed without [DONE]
                    return
                line = line.decode().strip()
                if not line.startswith("data: "):
                    continue
                payload = line[6:]
                self.events.append((time.monotonic(), payload))
                if payload == "[DONE]":
                    self.outcome = "done"
                    return
                event = json.loads(payload)
                if "error" in event:
                    self.outcome = "dropped"
                    return
                if self.model is None:
                    self.model = event["model"]
                    self.first.set()
        except (TimeoutError, socket.timeout):
            self.outcome = "hang"
        except (OSError, http.client.HTTPException) as e:
            self.outcome = "dropped"
            self.error = repr(e)
        except ValueError as e:  # a torn event
            self.outcome = "dropped"
            self.error = repr(e)
        finally:
            self.first.set()
            conn.close()


a, b = Replica("replica-a"), Replica("replica-b")
replicas = {a.name: a, b.name: b}
nginx = None
try:
    nginx = Nginx(a, b)
    chat = {"messages": [{"role": "user", "content": "The capital of France is"}], "max_tokens": 4, "temperature": 0}

    # --- requests through nginx succeed and alternate between the replicas ---
    answers = [request(nginx.port, "POST", "/v1/chat/completions", chat) for _ in range(6)]
    c.check(all(s == 200 and isinstance(r, dict) and r.get("model") in replicas for s, r in answers),
            f"requests through nginx: {answers}")
    names = [r["model"] if isinstance(r, dict) else None for _, r in answers]
    c.check(set(names) == set(replicas) and all(x != y for x, y in zip(names, names[1:])),
            f"requests do not alternate between the replicas: {names}")
    texts = {r["choices"][0]["message"]["content"] for s, r in answers if s == 200 and isinstance(r, dict)}
    c.check(len(texts) == 1, f"the replicas answer the same greedy request differently: {texts}")
    status, models = request(nginx.port, "GET", "/v1/models")
    c.check(status == 200 and models["data"][0]["id"] in replicas, f"/v1/models through nginx: {status} {models}")

    # --- a stream through nginx: several events, the first while generating, then [DONE] ---
    stream = Stream(nginx.port, 24, chat=True)
    stream.start()
    stream.first.wait(TIMEOUT)
    busy = sum(r.health()["slots_processing"] for r in replicas.values())
    stream.join(TIMEOUT)
    c.check(stream.status == 200 and stream.outcome == "done" and stream.model in replicas,
            f"stream through nginx: status {stream.status}, {stream.outcome}, model {stream.model}")
    c.check(busy == 1, "the first event of a stream reached the client only after the generation ended "
            "(nginx buffered it)")
    payloads = [p for _, p in stream.events]
    c.check(len(payloads) >= 10 and payloads[-1] == "[DONE]",
            f"stream: {len(payloads)} events, last {payloads[-1:]}")
    text = "".join(json.loads(p)["choices"][0]["delta"].get("content") or "" for p in payloads[:-1]
                   if json.loads(p)["choices"])
    c.check(len(text) > 0, "the stream carried no text")

    # --- kill replica-a while streams run on both and client threads keep sending ---
    holders = []
    for _ in range(4):  # nginx alternates: two long streams on each replica
        h = Stream(nginx.port, 1000)
        h.start()
        h.first.wait(TIMEOUT)
        holders.append(h)
    c.check(sorted(h.model or "" for h in holders) == sorted([a.name, a.name, b.name, b.name]),
            f"long streams per replica: {[h.model for h in holders]} ({[h.outcome for h in holders]})")

    results = []  # (start, end, outcome, model or detail)
    results_lock = threading.Lock()
    killed_at = [None]
    POST_KILL = 3  # requests each client thread sends after the kill

    def client():
        after = 0
        while after < POST_KILL:
            start = time.monotonic()
            sent_after_kill = killed_at[0] is not None
            try:
                status, r = request(nginx.port, "POST", "/v1/chat/completions", chat)
                if status == 200 and isinstance(r, dict) and r.get("model") in replicas:
                    outcome, detail = "ok", r["model"]
                elif status != 200:
                    outcome, detail = "http", f"{status} {str(r)[:120]}"
                else:
                    outcome, detail = "bad", str(r)[:200]
            except (TimeoutError, socket.timeout):
                outcome, detail = "hang", "timed out"
            except (OSError, http.client.HTTPException) as e:
                outcome, detail = "dropped", repr(e)
            with results_lock:
                results.append((start, time.monotonic(), outcome, detail))
            after += sent_after_kill

    clients = [threading.Thread(target=client, daemon=True) for _ in range(3)]
    for t in clients:
        t.start()
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and len(results) < 3:  # requests are flowing
        time.sleep(0.05)
    processing = a.health()["slots_processing"]
    c.check(processing >= 2, f"replica-a has {processing} requests in flight just before the kill")
    a.proc.kill()
    a.proc.wait()
    killed_at[0] = time.monotonic()
    for t in clients:
        t.join(3 * POST_KILL * TIMEOUT)
    c.check(not any(t.is_alive() for t in clients), "client threads hang")

    for h in holders:
        if h.model == b.name:  # the survivor's streams go on after the kill
            deadline = time.time() + TIMEOUT
            while time.time() < deadline and h.is_alive() and not any(t > killed_at[0] for t, _ in h.events):
                time.sleep(0.05)
            h.release.set()
        h.join(TIMEOUT)
    on_a = [h for h in holders if h.model == a.name]
    on_b = [h for h in holders if h.model == b.name]
    c.check(all(h.outcome == "dropped" for h in on_a),
            f"streams on the killed replica did not end cleanly: {[(h.outcome, getattr(h, 'error', '')) for h in on_a]}")
    c.check(all(h.outcome in ("released", "done") and any(t > killed_at[0] for t, _ in h.events) for h in on_b),
            f"streams on the surviving replica stopped with it: {[h.outcome for h in on_b]}")

    before = [r for r in results if r[0] < killed_at[0]]
    after = [r for r in results if r[0] >= killed_at[0]]
    c.check(len(after) >= 3 * POST_KILL, f"only {len(after)} requests were sent after the kill")
    bad_after = [r for r in after if r[2] != "ok" or r[3] != b.name]
    c.check(not bad_after, f"requests sent after the kill failed or did not reach replica-b: {bad_after}")
    bad_before = [r for r in before if r[2] not in ("ok", "http", "dropped")]
    c.check(not bad_before, f"requests in flight at the kill did not end cleanly: {bad_before}")
    c.check(all(r[1] - r[0] < TIMEOUT for r in results), "a request took over a minute")
    print(f"{len(before)} requests started before the kill ("
          f"{sum(r[2] != 'ok' for r in before)} failed: {sorted({r[2] for r in before if r[2] != 'ok'})}), "
          f"{len(after)} after (all on {b.name})")

    # Once fail_timeout (2 s) has passed, nginx tries the dead replica again:
    # the connection is refused and the request passes to replica-b.
    time.sleep(max(0.0, killed_at[0] + 2.5 - time.monotonic()))
    access_before = len(Nginx.log("nginx-access.log").splitlines())
    late = [request(nginx.port, "POST", "/v1/chat/completions", chat) for _ in range(6)]
    c.check(all(s == 200 and isinstance(r, dict) and r.get("model") == b.name for s, r in late),
            f"requests after fail_timeout: {late}")
    tried = Nginx.log("nginx-access.log").splitlines()[access_before:]
    c.check(any(f"127.0.0.1:{a.port}, 127.0.0.1:{b.port}" in line for line in tried),
            f"nginx never tried the dead replica and passed the request on: {tried}")
    health = b.health()
    c.check(health["status"] == "ok", f"replica-b after the kill: {health}")
    c.check(nginx.stop() == 0, "nginx stops on SIGTERM with status 0")
    nginx = None
    b.proc.send_signal(signal.SIGTERM)
    try:
        code = b.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        code = None
    c.check(code == 0, f"replica-b stops on SIGTERM with status 0 (got {code})")
    if c.failures:
        print("nginx access log (request, status, upstreams tried):\n" + Nginx.log("nginx-access.log")[-3000:])
finally:
    if nginx:
        nginx.proc.kill()
    for r in (a, b):
        if r.proc.poll() is None:
            r.proc.kill()
c.finish()
