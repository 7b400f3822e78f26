#!/usr/bin/python3
"""Qwen 2.5 / 3 tokenizer (byte-level BPE, NFC normalizer, one-digit split,
non-special added tokens such as <think>) against the JavaScript port of the
Hugging Face tokenizer: the corpus in every mode, decoding, the vocabulary."""
import json

from tokenizer_parity import Parity, parse_args


def main():
    args = parse_args()
    p = Parity("tokenizer-qwen3", args.kvlm, args.workdir)
    # The JS port's regex \s also matches U+FEFF, Hugging Face's does not (see
    # test_tokenizer_llama3.py); token texts holding it are left out.
    p.standard(vocab_exclude=lambda s: "\ufeff" in s)

    # NFC: a decomposed é encodes like the composed one.
    _, composed, _ = p.cli("tokenize", "-m", str(p.model_dir), "caf\u00e9")
    _, decomposed, _ = p.cli("tokenize", "-m", str(p.model_dir), "cafe\u0301")
    p.check(composed == decomposed, f"NFC: {composed.strip()} == {decomposed.strip()}")
    # Non-special added tokens are matched even without --special; specials are not.
    rc, out, _ = p.cli("tokenize", "-m", str(p.model_dir), "<think>x</think><|im_end|>")
    ids = json.loads(out)
    p.check(rc == 0 and ids[0] == 151667 and 151668 in ids and 151645 not in ids,
            f"<think> is matched, <|im_end|> stays text: {out.strip()}")
    p.finish()


if __name__ == "__main__":
    main()
