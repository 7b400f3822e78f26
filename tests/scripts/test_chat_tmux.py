"""kvlm chat at a real terminal (tmux), on a tiny synth model with the real
Llama 3 tokenizer and Llama 3.2 template:
- /help and an unknown /command print on the terminal and never reach the
  model (no reply, no stats line);
- two turns; the second reuses the first's KV cache;
- Up recalls the previous line (and, in a new process, the history file's);
  Ctrl-C drops a typed line, warns once at an empty prompt, and a second
  Ctrl-C in a row exits with status 130;
- Ctrl-C during a long reply stops it, the program stays, the partial reply
  stays in the conversation and the next turn's greedy reply equals that of a
  fresh process that prefills the same messages (the cache matched them);
- a small --ctx: a reply cut at the context's end, the oldest turn dropped
  with a notice (the next prompt has exactly the tokens of the Jinja2
  rendering of the kept messages), a message too long for the context
  refused in one line, and the program keeps going;
- /save, then /load in a new process: the continued conversation equals the
  uninterrupted one and prefills only the new message; with another --ctx
  the saved cache is not used and the whole conversation is prefilled, with
  the same reply; a bad file is refused in one line;
- piped stdin: the same commands, plain line reading; bad input (a line that
  is not UTF-8, a directory, a damaged FILE.kvstate whose shape would wrap
  size_t) gets one line each and the chat goes on.
Exits 77 (skipped) only when tmux is missing.
Waits poll the pane (capture-pane) with generous timeouts; nothing is timed."""
import datetime
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import time

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kvlm_test_util import LLAMA32_FILES, Checker, parse_args, run, tiny_chat_model

args = parse_args()
c = Checker()
K = os.path.abspath(args.kvlm)
W = os.path.abspath(args.workdir)
DATE = "2024-07-26"
SKIP = 77  # ctest's SKIP_RETURN_CODE for this test (tests/CMakeLists.txt)
if not shutil.which("tmux"):
    print("SKIP: tmux is missing (scripts/setup.sh installs it); kvlm chat at a terminal is not tested")
    sys.exit(SKIP)
model = tiny_chat_model(K, os.path.join(W, "tiny"), seed=3)
STATE_HOME = os.path.join(W, "state")  # the history file goes here, not into the user's home
shutil.rmtree(STATE_HOME, ignore_errors=True)
SOCKET = os.path.join(W, "tmux.sock")
CONF = os.path.join(W, "tmux.conf")
with open(CONF, "w") as f:
    # exit-empty off: closing one chat's session must not start the server's
    # shutdown while the next new-session connects to it.
    f.write("set -g history-limit 100000\nset -s exit-empty off\n")
ENV = dict(os.environ, XDG_STATE_HOME=STATE_HOME, KVLM_CACHE_DIR=os.path.join(W, "packages"), LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm")
STATS = re.compile(r"^\[(eos|length|stop|cancelled|context)\] prompt (\d+) tokens \((\d+) cached, (\d+) prefilled\), "
                   r"(\d+) generated", re.M)
TIMEOUT = 180  # seconds; only a hang reaches it


def tmux(*a, check=True):
    p = subprocess.run(["tmux", "-S", SOCKET, "-f", CONF] + list(a), capture_output=True, text=True, env=ENV)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: tmux {' '.join(a[:2])} exited {p.returncode}: {p.stderr.strip()}")
    return p


class Pane:
    """One `kvlm chat` in its own tmux session; the shell line after it prints its exit status."""
    count = 0

    def __init__(self, chat_args):
        Pane.count += 1
        self.name = f"chat{Pane.count}"
        cmd = " ".join(shlex.quote(a) for a in [K, "chat", "-m", model, "--date", DATE, "--stats"] + chat_args)
        tmux("new-session", "-d", "-s", self.name, "-x", "150", "-y", "40", "-c", W,
             f"{cmd}; echo \"[exit $?]\"; sleep 100000")

    def text(self):
        return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name).stdout

    def wait(self, pred, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            t = self.text()
            if pred(t):
                return t
            if time.monotonic() > deadline:
                sys.exit(f"FAIL: timed out waiting for {what}; the pane ends with:\n{t[-3000:]}")
            time.sleep(0.05)

    def stats(self, t=None):
        return STATS.findall(self.text() if t is None else t)

    def at_prompt(self, t):
        lines = [l for l in t.splitlines() if l.strip()]
        return bool(lines) and lines[-1].rstrip() == ">"

    def wait_prompt(self, what, n_stats=None):
        """Waits until the prompt is back (after n_stats stats lines, when given); returns the pane text."""
        return self.wait(lambda t: self.at_prompt(t) and (n_stats is None or len(self.stats(t)) >= n_stats), what)

    def type(self, text):
        tmux("send-keys", "-t", self.name, "-l", text)

    def key(self, *keys):
        tmux("send-keys", "-t", self.name, *keys)

    def send(self, line):
        self.type(line)
        self.key("Enter")

    def exit_status(self):
        t = self.wait(lambda t: re.search(r"^\[exit \d+\]", t, re.M), "the program to exit")
        return int(re.search(r"^\[exit (\d+)\]", t, re.M).group(1))

    def close(self):
        tmux("kill-session", "-t", self.name, check=False)


def render(messages):
    """The Llama 3.2 template rendered by Jinja2 as transformers does."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.globals["strftime_now"] = lambda fmt: datetime.datetime(2024, 7, 26).strftime(fmt)
    env.globals["raise_exception"] = lambda m: (_ for _ in ()).throw(jinja2.exceptions.TemplateError(m))
    t = env.from_string(open(os.path.join(LLAMA32_FILES, "chat_template.jinja")).read())
    return t.render(messages=messages, add_generation_prompt=True, bos_token="<|begin_of_text|>",
                    eos_token="<|eot_id|>", tools=None, documents=None)


def n_tokens(text, special):
    flags = ["--special"] if special else []
    return len(json.loads(run([K, "tokenize", "-m", model, "--no-bos"] + flags + ["--", text]).stdout))


def n_prompt_tokens(messages):
    """Template parts parse special tokens; message text never does."""
    full, total, pos = render(messages), 0, 0
    for m in messages:
        at = full.index(m["content"], pos)
        total += n_tokens(full[pos:at], True) + n_tokens(m["content"], False)
        pos = at + len(m["content"])
    return total + n_tokens(full[pos:], True)


def piped(chat_args, lines):
    return run([K, "chat", "-m", model, "--date", DATE, "--stats"] + chat_args, input="".join(l + "\n" for l in lines),
               env=ENV)


def messages_of(path):
    return json.load(open(path))["messages"]


def stop_reasons(stats):
    return [s[0] for s in stats]


tmux("kill-server", check=False)
tmux("start-server")
try:
    # --- commands, two turns, history, Ctrl-C at the prompt ---
    p = Pane(["--greedy", "-n", "12"])
    p.wait_prompt("the first prompt")
    p.send("/help")
    t = p.wait(lambda t: "/save FILE" in t and p.at_prompt(t), "/help")
    c.check("/load FILE" in t and "/system" in t and "/reset" in t, f"/help lists the commands: {t[-800:]!r}")
    p.send("/frobnicate now")
    t = p.wait(lambda t: "unknown command /frobnicate" in t and p.at_prompt(t), "the unknown-command hint")
    c.check(len(p.stats(t)) == 0, "commands never reach the model")
    p.send("Hello there")
    p.wait_prompt("the first reply", 1)
    p.send("How are you")
    t = p.wait_prompt("the second reply", 2)
    s = p.stats(t)
    c.check(int(s[1][2]) >= int(s[0][1]), f"the second turn reuses the first's cache: {s}")
    p.key("Up")
    t = p.wait(lambda t: t.rstrip().splitlines()[-1] == "> How are you", "Up to recall the previous line")
    p.key("Up")
    t = p.wait(lambda t: t.rstrip().splitlines()[-1] == "> Hello there", "a second Up to recall the line before")
    p.key("C-c")  # drops the recalled line: no warning
    t = p.wait(lambda t: p.at_prompt(t) and t.count("> Hello there") == 2, "Ctrl-C to drop the typed line")
    c.check("Ctrl-C again" not in t, "Ctrl-C on a typed line drops it without the quit warning")
    p.key("C-c")
    t = p.wait(lambda t: "Ctrl-C again" in t and p.at_prompt(t), "the warning of a Ctrl-C at an empty prompt")
    p.key("C-c")
    c.check(p.exit_status() == 130, "a second Ctrl-C in a row at the prompt exits with 130")
    c.check(len(p.stats()) == 2, "Ctrl-C at the prompt generates nothing")
    p.close()

    # --- Ctrl-C during a long reply ---
    p = Pane(["--greedy", "-n", "1000", "--ctx", "2048"])
    p.wait_prompt("the first prompt")
    p.send("Tell me a long story")

    def reply_started(t):
        after = t.split("> Tell me a long story", 1)[-1].strip()
        return len(after) > 30

    p.wait(reply_started, "the long reply to start")
    p.key("C-c")
    t = p.wait_prompt("the prompt after Ctrl-C", 1)
    s = p.stats(t)
    c.check(stop_reasons(s) == ["cancelled"] and int(s[0][4]) < 1000, f"Ctrl-C stops the reply: {s}")
    c.check("the partial reply stays in the conversation" in t, "Ctrl-C says the partial reply stays")
    p.send("/save " + os.path.join(W, "cancelled.json"))
    p.wait(lambda t: "(saved to" in t and p.at_prompt(t), "/save after Ctrl-C")
    p.send("Go on")
    t = p.wait_prompt("the turn after Ctrl-C", 2)
    s = p.stats(t)
    c.check(int(s[1][2]) >= int(s[0][1]), f"the turn after Ctrl-C reuses the cache: {s}")
    p.send("/save " + os.path.join(W, "after_cancel.json"))
    p.wait(lambda t: "(saved to" in t and p.at_prompt(t), "/save after the next turn")
    p.send("/exit")
    c.check(p.exit_status() == 0, "/exit exits with 0")
    p.close()
    cancelled = messages_of(os.path.join(W, "cancelled.json"))
    c.check([m["role"] for m in cancelled] == ["user", "assistant"] and cancelled[1]["content"],
            f"the partial reply stays in the conversation: {[m['role'] for m in cancelled]}")
    after = messages_of(os.path.join(W, "after_cancel.json"))
    # The reference: a fresh process, the same messages, no cache (another --ctx).
    ref = piped(["--greedy", "-n", "1000", "--ctx", "2047"],
                ["/load " + os.path.join(W, "cancelled.json"), "Go on", "/save " + os.path.join(W, "ref_cancel.json")])
    c.check("not used" in ref.stderr, f"the reference prefills everything: {ref.stderr[-500:]!r}")
    c.check(messages_of(os.path.join(W, "ref_cancel.json")) == after,
            "after Ctrl-C the next greedy reply equals a full prefill of the same messages (the cache matched them)")

    # --- a small context: a reply cut at its end, turns dropped, a message too long ---
    p = Pane(["--greedy", "-n", "400", "--ctx", "128"])
    p.wait_prompt("the first prompt")
    p.send("Hello")
    t = p.wait_prompt("a reply to the context's end", 1)
    c.check("context full: the reply was cut at 128 tokens" in t, f"the cut reply's notice: {t[-600:]!r}")
    p.send("Again")
    t = p.wait_prompt("the turn after a full context", 2)
    c.check("context full: dropped the oldest 1 turn" in t, f"the dropped-turn notice: {t[-600:]!r}")
    s = p.stats(t)
    want = n_prompt_tokens([{"role": "user", "content": "Again"}])
    c.check(int(s[1][1]) == want, f"after the drop the prompt is the newest message alone: {s[1][1]} tokens, "
                                  f"Jinja2 + tokenize say {want}")
    p.send("word " * 200)
    t = p.wait(lambda t: "does not fit the context" in t and p.at_prompt(t), "the too-long message's notice")
    c.check(len(p.stats(t)) == 2, "a message too long is not sent")
    p.send("Hi")
    t = p.wait_prompt("a turn after the too-long message", 3)
    p.key("C-d")
    c.check(p.exit_status() == 0, "Ctrl-D exits with 0")
    p.close()

    # --- /save, then /load in a new process ---
    conv = os.path.join(W, "conv.json")
    for f in (conv, conv + ".kvstate"):
        if os.path.exists(f):
            os.remove(f)
    ref = piped(["--greedy", "-n", "24"], ["Hello", "Again", "/save " + os.path.join(W, "ref.json")])
    ref_stats = STATS.findall(ref.stderr)
    p = Pane(["--greedy", "-n", "24"])
    p.wait_prompt("the first prompt")
    p.send("Hello")
    p.wait_prompt("the reply", 1)
    p.send("/save " + conv)
    p.wait(lambda t: "(saved to" in t and p.at_prompt(t), "/save")
    p.send("/exit")
    p.exit_status()
    p.close()
    c.check(os.path.exists(conv) and os.path.exists(conv + ".kvstate"), "/save writes FILE and FILE.kvstate")
    p = Pane(["--greedy", "-n", "24"])
    p.wait_prompt("the first prompt")
    p.key("Up")  # the history file kept the last process's lines
    p.wait(lambda t: t.rstrip().splitlines()[-1] == "> /exit", "Up to recall a line of the previous process")
    p.key("C-u")
    p.send("/load " + conv)
    t = p.wait(lambda t: "(loaded 2 messages" in t and p.at_prompt(t), "/load")
    c.check("not used" not in t, f"the saved cache is used: {t[-500:]!r}")
    p.send("Again")
    t = p.wait_prompt("the continued conversation", 1)
    s = p.stats(t)
    c.check(s[0][1:4] == ref_stats[1][1:4], f"after /load the turn prefills only its new tokens, as the "
                                            f"uninterrupted conversation: {s[0]} vs {ref_stats[1]}")
    p.send("/save " + os.path.join(W, "continued.json"))
    p.wait(lambda t: "(saved to" in t and p.at_prompt(t), "/save")
    p.send("/load " + os.path.join(W, "missing.json"))
    t = p.wait(lambda t: "not loaded:" in t and p.at_prompt(t), "a missing file's notice")
    p.send("/quit")
    c.check(p.exit_status() == 0, "/quit exits with 0")
    p.close()
    c.check(messages_of(os.path.join(W, "continued.json")) == messages_of(os.path.join(W, "ref.json")),
            "/save + /load continues exactly as the uninterrupted conversation")
finally:
    tmux("kill-server", check=False)

# --- a saved cache that does not fit: the whole conversation is prefilled, same reply ---
other = piped(["--greedy", "-n", "24", "--ctx", "256"],
              ["/load " + conv, "Again", "/save " + os.path.join(W, "other_ctx.json")])
c.check("not used (it was saved with --ctx 512)" in other.stderr, f"another --ctx: {other.stderr[-500:]!r}")
o_stats = STATS.findall(other.stderr)
c.check(len(o_stats) == 1 and o_stats[0][2] == "0", f"another --ctx prefills everything: {o_stats}")
c.check(messages_of(os.path.join(W, "other_ctx.json")) == messages_of(os.path.join(W, "ref.json")),
        "a re-prefilled conversation gives the same greedy reply")

# --- piped stdin: commands, /system, a bad file; nothing interactive ---
with open(os.path.join(W, "bad.json"), "w") as f:
    f.write('{"format": "kvlm-chat", "version": 1, "messages": [{"role": 3}]}')
out = piped(["--greedy", "-n", "8"], ["/help", "/nope", "Dropped by /system", "/system Be brief.", "/system",
                                     "/load " + os.path.join(W, "bad.json"), "//not a command", "Hi",
                                     "/save " + os.path.join(W, "piped.json")])
c.check(out.returncode == 0, f"piped chat exits 0: {out.stderr[-300:]!r}")
c.check("/save FILE" in out.stderr and "unknown command /nope" in out.stderr, "piped: /help and the hint on stderr")
c.check("system prompt: Be brief." in out.stderr, "/system shows the system prompt")
c.check("not loaded:" in out.stderr and "bad.json" in out.stderr, "a bad chat file is refused in one line")
c.check("kvlm chat: /help" not in out.stderr, "piped: no interactive banner")
msgs = messages_of(os.path.join(W, "piped.json"))
c.check([m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant"] and
        msgs[0]["content"] == "Be brief." and msgs[1]["content"] == "/not a command" and msgs[3]["content"] == "Hi",
        f"/system restarts the conversation; '//' sends a line starting with '/': {msgs}")
stats = STATS.findall(out.stderr)
c.check(len(stats) == 3, f"piped: the three messages went to the model, nothing else: {stats}")

# --- piped bad input: each gets one line, the chat goes on ---
huge = os.path.join(W, "huge.json")
shutil.copy(conv, huge)
with open(conv + ".kvstate", "rb") as f:
    state = bytearray(f.read())
for off in (12, 16, 24):  # layers, kv heads, head_dim: each in range, their product past 2^64
    struct.pack_into("<I", state, off, 1 << 20)
with open(huge + ".kvstate", "wb") as f:
    f.write(state)
lines = [b"Hi \xff\xfe there", b"/system \xc0\xaf", b"/load " + W.encode(), b"/load " + huge.encode(), b"Again",
         b"/save " + os.path.join(W, "after_bad.json").encode()]
bad = subprocess.run([K, "chat", "-m", model, "--date", DATE, "--stats", "--greedy", "-n", "24"],
                     input=b"".join(l + b"\n" for l in lines), capture_output=True, env=ENV)
err = bad.stderr.decode(errors="replace")
c.check(bad.returncode == 0, f"bad input never ends the chat: exit {bad.returncode}, {err[-500:]!r}")
c.check(err.count("not valid UTF-8") == 2 and "byte 4)" in err, f"a line that is not UTF-8 is named, not sent: {err!r}")
c.check(f"not loaded: {W} is a directory" in err, f"/load of a directory: {err!r}")
c.check("(loaded 2 messages" in err and "invalid shape" in err and "not used" in err,
        f"a damaged FILE.kvstate is not used, the conversation is: {err!r}")
bad_stats = STATS.findall(err)
c.check(len(bad_stats) == 1 and bad_stats[0][2] == "0", f"only 'Again' reached the model, prefilled whole: {bad_stats}")
if os.path.exists(os.path.join(W, "after_bad.json")):
    c.check(messages_of(os.path.join(W, "after_bad.json")) == messages_of(os.path.join(W, "ref.json")),
            "after the bad lines the loaded conversation continues as the uninterrupted one")
else:
    c.check(False, "/save after the bad lines")
c.finish()
