#!/usr/bin/python3
"""SentencePiece-style BPE tokenizers (Llama 2: Prepend/Replace normalizer,
byte fallback, Strip decoder; Gemma 3: Replace normalizer, 262k vocabulary,
6000+ added tokens) against the JavaScript port of the Hugging Face tokenizer:
the corpus in every mode, decoding, the vocabulary."""
from tokenizer_parity import Parity, parse_args


def main():
    args = parse_args()
    failures = 0
    for package in ["tokenizer-llama2", "tokenizer-gemma3"]:
        p = Parity(package, args.kvlm, f"{args.workdir}/{package}")
        p.standard()
        failures += p.failures
    if failures:
        raise SystemExit(f"{failures} tokenizer check(s) failed")
    print("all tokenizer checks passed")


if __name__ == "__main__":
    main()
