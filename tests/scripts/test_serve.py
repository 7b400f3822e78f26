"""kvlm serve end to end on a tiny synth model with the real Llama 3 tokenizer
and the Llama 3.2 chat template, through the official `openai` Python client
(PyPI), curl and raw HTTP:
- greedy chat and completion give exactly what `kvlm run` gives; streaming
  deltas add up to the same text, end with a finish reason, usage and
  `data: [DONE]`; /v1/translate and /v1/copyedit give what `kvlm translate` /
  `kvlm copyedit` give;
- 8 concurrent greedy requests give exactly the texts the same requests give
  one at a time, and their decode steps were batched (fewer passes than steps);
- a repeated system prompt is not prefilled again (cached_tokens);
- validation: bad JSON, wrong types, a missing field, n > 1, a prompt over the
  context, an oversized body, an unknown route: 400 / 413 / 404 with an
  OpenAI-style {"error": {"message", "type"}} body;
- a full queue answers 429; a wrong or missing API key 401 (/health stays open);
- a client that disconnects mid-stream cancels its generation;
- SIGTERM stops the server with exit status 0."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from kvlm_test_util import Checker, parse_args, run, tiny_chat_model, rerun_in_test_venv

try:
    import openai
except ImportError:  # CTest runs /usr/bin/python3; openai lives in the test venv.
    rerun_in_test_venv()

args = parse_args()
c = Checker()
K = args.kvlm
DATE = "2024-07-26"
DTYPE = "q8"
if not shutil.which("curl"):
    raise SystemExit("FAIL: curl missing (run scripts/setup.sh)")

model = os.path.join(args.workdir, "tiny")
tiny_chat_model(K, model, seed=3)


class Server:
    def __init__(self, *extra):
        self.proc = subprocess.Popen([K, "serve", "-m", model, "--dtype", DTYPE, "--port", "0", "--date", DATE,
                                      "--name", "tiny", *extra], stderr=subprocess.PIPE, text=True)
        # Notices come first: a slow load, and the first start packing into the package cache.
        line = self.proc.stderr.readline()
        while line.startswith(("loading ", "packing ", "packed in ")):
            line = self.proc.stderr.readline()
        if "http://" not in line:
            self.proc.kill()
            sys.exit(f"FAIL: kvlm serve did not start: {line}{self.proc.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1].split()[0].strip("/"))
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def request(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, json.loads(text) if text else None

    def client(self, key="none"):
        return openai.OpenAI(base_url=self.base + "/v1", api_key=key, max_retries=0, timeout=60)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def cli_chat(user, system=None, n=12):
    cmd = [K, "run", "-m", model, "--dtype", DTYPE, "--date", DATE, "--chat", "-p", user, "-n", str(n), "--greedy",
           "--json"]
    if system:
        cmd += ["--system", system]
    return json.loads(run(cmd).stdout)["text"]


def is_error(status, body, want_status, param=None):
    ok = status == want_status and isinstance(body, dict) and isinstance(body.get("error"), dict) and \
        isinstance(body["error"].get("message"), str) and body["error"]["message"] and "type" in body["error"]
    if ok and param is not None:
        ok = body["error"].get("param") == param
    return ok


s = Server("--parallel", "4", "--queue", "8", "--max-body", "4096")
cl = s.client()

# --- health, models ---
status, health = s.request("GET", "/health")
c.check(status == 200 and health["status"] == "ok" and health["slots_idle"] == 4, f"/health: {status} {health}")
c.check([m.id for m in cl.models.list().data] == ["tiny"], "/v1/models lists the served model")

# --- chat: the openai client, non-streaming and streaming, against kvlm run ---
users = ["The capital of France is", "Write a haiku about the sea.", "Translate: good morning", "2 + 2 =",
         "Name three colours.", "Why is the sky blue?", "Say hello in German.", "List the days of the week."]
want = cli_chat(users[0])
r = cl.chat.completions.create(model="tiny", messages=[{"role": "user", "content": users[0]}], max_tokens=12,
                               temperature=0)
c.check(r.choices[0].message.content == want, f"chat differs from kvlm run: {r.choices[0].message.content!r} vs {want!r}")
c.check(r.choices[0].finish_reason in ("stop", "length") and r.usage.completion_tokens > 0 and
        r.usage.prompt_tokens > 0, f"chat usage / finish: {r}")
pieces, finish, usage = [], None, None
for chunk in cl.chat.completions.create(model="tiny", messages=[{"role": "user", "content": users[0]}], max_tokens=12,
                                        temperature=0, stream=True, stream_options={"include_usage": True}):
    if chunk.choices:
        pieces.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage
c.check("".join(pieces) == want, f"streamed text differs: {''.join(pieces)!r} vs {want!r}")
c.check(finish == r.choices[0].finish_reason and usage and usage.completion_tokens == r.usage.completion_tokens,
        f"stream end: finish {finish}, usage {usage}")

# --- completions against kvlm run -p ---
want_text = json.loads(run([K, "run", "-m", model, "--dtype", DTYPE, "-p", "Once upon a time", "-n", "10", "--greedy",
                            "--json"]).stdout)["text"]
r = cl.completions.create(model="tiny", prompt="Once upon a time", max_tokens=10, temperature=0)
c.check(r.choices[0].text == want_text, f"completion differs: {r.choices[0].text!r} vs {want_text!r}")

# --- curl, streaming and not ---
body = json.dumps({"messages": [{"role": "user", "content": users[0]}], "max_tokens": 12, "temperature": 0})
out = run(["curl", "-sS", "-H", "Content-Type: application/json", "-d", body, s.base + "/v1/chat/completions"]).stdout
c.check(json.loads(out)["choices"][0]["message"]["content"] == want, f"curl chat: {out[:200]}")
body = json.dumps({"messages": [{"role": "user", "content": users[0]}], "max_tokens": 12, "temperature": 0,
                   "stream": True})
out = run(["curl", "-sSN", "-H", "Content-Type: application/json", "-d", body, s.base + "/v1/chat/completions"]).stdout
events = [line[6:] for line in out.split("\n") if line.startswith("data: ")]
c.check(events and events[-1] == "[DONE]", f"curl stream ends with [DONE]: {out[-200:]!r}")
text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1] if json.loads(e)["choices"])
c.check(text == want, f"curl stream text: {text!r}")

# --- the services ---
got = s.request("POST", "/v1/translate", {"text": "The cat is on the table.", "target": "French"})
want_tr = json.loads(run([K, "translate", "-m", model, "--dtype", DTYPE, "--date", DATE, "--to", "French", "--json",
                          "The cat is on the table."]).stdout)["text"]
c.check(got[0] == 200 and got[1]["translation"] == want_tr, f"/v1/translate: {got} vs {want_tr!r}")
got = s.request("POST", "/v1/copyedit", {"text": "their going to the store"})
want_ce = json.loads(run([K, "copyedit", "-m", model, "--dtype", DTYPE, "--date", DATE, "--json",
                          "their going to the store"]).stdout)["text"]
c.check(got[0] == 200 and got[1]["text"] == want_ce, f"/v1/copyedit: {got} vs {want_ce!r}")

# --- 8 concurrent greedy requests = the same requests one at a time ---
def ask(u, out, i):
    out[i] = cl.chat.completions.create(model="tiny", messages=[{"role": "user", "content": u}], max_tokens=24,
                                        temperature=0).choices[0].message.content


serial = [None] * 8
for i, u in enumerate(users):
    ask(u, serial, i)
before = s.request("GET", "/health")[1]
concurrent = [None] * 8
threads = [threading.Thread(target=ask, args=(u, concurrent, i)) for i, u in enumerate(users)]
for t in threads:
    t.start()
for t in threads:
    t.join()
after = s.request("GET", "/health")[1]
c.check(concurrent == serial, f"concurrent results differ from serial:\n{concurrent}\n{serial}")
steps = after["decode_steps"] - before["decode_steps"]
passes = after["decode_passes"] - before["decode_passes"]
c.check(steps > 0 and passes < steps, f"decode steps were not batched: {steps} steps in {passes} passes")

# --- prefix reuse of a repeated system prompt ---
system = "You are a careful assistant who answers in one short sentence. " * 4
first = cl.chat.completions.create(model="tiny", messages=[{"role": "system", "content": system},
                                                           {"role": "user", "content": "Hi"}], max_tokens=4, temperature=0)
second = cl.chat.completions.create(model="tiny", messages=[{"role": "system", "content": system},
                                                            {"role": "user", "content": "Bye"}], max_tokens=4, temperature=0)
cached = second.usage.model_dump().get("prompt_tokens_details", {}).get("cached_tokens", 0)
c.check(cached >= 40, f"the repeated system prompt was prefilled again (cached_tokens {cached})")

# --- validation ---
chat = "/v1/chat/completions"
c.check(is_error(*s.request("POST", chat, raw=b"{not json"), 400), "bad JSON -> 400")
c.check(is_error(*s.request("POST", chat, {"max_tokens": 4}), 400, "messages"), "missing messages -> 400")
c.check(is_error(*s.request("POST", chat, {"messages": "hi"}), 400, "messages"), "messages not a list -> 400")
c.check(is_error(*s.request("POST", chat, {"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}), 400,
                 "temperature"), "temperature string -> 400")
c.check(is_error(*s.request("POST", chat, {"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}), 400,
                 "max_tokens"), "negative max_tokens -> 400")
c.check(is_error(*s.request("POST", chat, {"messages": [{"role": "user", "content": "x"}], "n": 2}), 400, "n"),
        "n = 2 -> 400")
c.check(is_error(*s.request("POST", chat, {"messages": [{"role": "wizard", "content": "x"}]}), 400, "messages"),
        "unknown role -> 400")
c.check(is_error(*s.request("POST", "/v1/completions", {"prompt": "word " * 700}), 400, "prompt"),
        "prompt over the context -> 400")
c.check(is_error(*s.request("POST", chat, raw=json.dumps({"messages": [{"role": "user", "content": "x" * 8000}]}).encode()),
                 413), "body over --max-body -> 413")
c.check(is_error(*s.request("GET", "/v1/nothing"), 404), "unknown route -> 404")
c.check(is_error(*s.request("POST", "/v1/translate", {"text": "x"}), 400, "target"), "translate without target -> 400")

# --- a client that disconnects mid-stream cancels its generation ---
before = s.request("GET", "/health")[1]["requests_cancelled"]
sock = socket.create_connection(("127.0.0.1", s.port))
body = json.dumps({"prompt": "Once", "max_tokens": 400, "stream": True, "temperature": 0}).encode()
sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
             str(len(body)).encode() + b"\r\n\r\n" + body)
sock.recv(256)
sock.close()
deadline = time.time() + 20
cancelled = before
while time.time() < deadline and cancelled == before:
    time.sleep(0.05)
    cancelled = s.request("GET", "/health")[1]["requests_cancelled"]
c.check(cancelled == before + 1, f"a disconnected stream was not cancelled ({before} -> {cancelled})")
c.check(s.stop() == 0, "SIGTERM stops the server with status 0")

# --- a full queue: 429; the API key: 401 ---
s = Server("--parallel", "1", "--queue", "0", "--api-key", "sekrit", "--backend", "reference")
c.check(s.request("GET", "/health")[0] == 200, "/health needs no key")
c.check(is_error(*s.request("GET", "/v1/models"), 401), "no key -> 401")
c.check(is_error(*s.request("GET", "/v1/models", headers={"Authorization": "Bearer wrong"}), 401), "wrong key -> 401")
auth = {"Authorization": "Bearer sekrit"}
c.check(s.request("GET", "/v1/models", headers=auth)[0] == 200, "right key -> 200")
busy = socket.create_connection(("127.0.0.1", s.port))
body = json.dumps({"prompt": "Once", "max_tokens": 300, "stream": True, "temperature": 0}).encode()
busy.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekrit\r\n"
             b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
busy.recv(256)  # the first request holds the only slot
status, err = s.request("POST", "/v1/completions", {"prompt": "Twice", "max_tokens": 2}, headers=auth)
c.check(is_error(status, err, 429), f"a full queue -> 429 (got {status} {err})")
busy.close()
c.check(s.stop() == 0, "SIGTERM stops a busy server with status 0")
c.finish()
