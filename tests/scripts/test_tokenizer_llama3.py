#!/usr/bin/python3
"""Llama 3 tokenizer (the Llama 3.2 vocabulary: 128000 BPE tokens + 256
specials) against the JavaScript port of the Hugging Face tokenizer: the
corpus in every mode, decoding, the whole vocabulary, specials typed as text,
and CLI errors."""
import json

from tokenizer_parity import Parity, parse_args

FEFF = "\ufeff"


def main():
    args = parse_args()
    p = Parity("tokenizer-llama3_1", args.kvlm, args.workdir)

    # The JS port's regex \s also matches U+FEFF; Hugging Face's (and
    # tiktoken's, whose vocabulary this is) does not. Token texts holding it are
    # checked on their own below, against the vocabulary file.
    p.standard(vocab_exclude=lambda s: FEFF in s)

    vocab = json.loads((p.model_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    # "\ufeff//" is one token of the vocabulary, spelled in the byte-level alphabet.
    spelled = "\u00ef\u00bb\u00bf//"
    rc, out, _ = p.cli("tokenize", "-m", str(p.model_dir), "--no-bos", FEFF + "//")
    p.check(rc == 0 and json.loads(out) == [vocab[spelled]],
            f"U+FEFF is not whitespace: '\\ufeff//' is token {vocab[spelled]} (got {out.strip()})")

    # Specials typed by a user are text unless --special is given.
    rc, out, _ = p.cli("tokenize", "-m", str(p.model_dir), "<|eot_id|>")
    p.check(rc == 0 and 128009 not in json.loads(out) and json.loads(out)[0] == 128000,
            f"'<|eot_id|>' typed as text is not the special token: {out.strip()}")
    rc, out, _ = p.cli("tokenize", "-m", str(p.model_dir), "--special", "<|eot_id|>")
    p.check(rc == 0 and json.loads(out) == [128000, 128009], f"--special parses it: {out.strip()}")
    rc, out, _ = p.cli("detokenize", "-m", str(p.model_dir), "128000", "9906,1917")
    p.check(rc == 0 and out == "<|begin_of_text|>Hello world\n", f"detokenize: {out!r}")

    # Bad input: one line on stderr, non-zero exit.
    for label, args_, stdin in [
        ("missing model dir", ["tokenize", "-m", str(p.workdir / "nope"), "x"], None),
        ("id out of range", ["detokenize", "-m", str(p.model_dir), "128256"], None),
        ("id not a number", ["detokenize", "-m", str(p.model_dir), "12x"], None),
        ("jsonl line not a string", ["tokenize", "-m", str(p.model_dir), "--jsonl"], b'"ok"\n42\n'),
        ("jsonl line not JSON", ["tokenize", "-m", str(p.model_dir), "--jsonl"], b"not json\n"),
        ("tokenizer.json malformed", ["tokenize", "-m", str(p.workdir / "broken"), "x"], None),
    ]:
        if label == "tokenizer.json malformed":
            (p.workdir / "broken").mkdir(exist_ok=True)
            (p.workdir / "broken" / "tokenizer.json").write_text('{"model": {"type": "BPE", "vocab": {"a": 0,}}}')
        rc, _, err = p.cli(*args_, stdin=stdin)
        lines = [l for l in err.split("\n") if l]
        p.check(rc != 0 and len(lines) == 1 and lines[0].startswith("kvlm: error:"),
                f"{label}: exit {rc}, stderr {err.strip()!r:.160}")
    p.finish()


if __name__ == "__main__":
    main()
