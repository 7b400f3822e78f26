"""Writes a `kvlm synth` Hugging Face directory as an F16 GGUF that llama.cpp
loads, with a byte-level BPE vocabulary from a tokenizer.json (the synth
directories have none): the same weights for both engines in
bench/llama_cpp_compare.sh.

    synth_gguf.py MODEL_DIR TOKENIZER_JSON OUT.gguf
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "scripts"))
import safetensors_util  # noqa: E402
from gguf_writer import write_gguf  # noqa: E402

NUMPY_DTYPE = {"F32": "<f4", "F16": "<f2"}


def as_f32(info, raw):
    if info["dtype"] == "BF16":
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, dtype=NUMPY_DTYPE[info["dtype"]]).astype(np.float32)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    model_dir, tokenizer_path, out = sys.argv[1:]
    header, data = safetensors_util.read(os.path.join(model_dir, "model.safetensors"))
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        tensors[name] = as_f32(info, data[b:e]).reshape(info["shape"])
    config = json.load(open(os.path.join(model_dir, "config.json")))
    vocab = json.load(open(tokenizer_path))
    write_gguf(out, config, tensors, "F16", vocab=vocab)


if __name__ == "__main__":
    main()
