"""A GGUF model gives what the same model gives from its Hugging Face directory.

For random `kvlm synth` models (tiny-llama: GQA 4:1, explicit head_dim 16 !=
hidden/heads, llama3 rope scaling, tied embeddings; tiny-qwen2: q/k/v biases,
here made untied with an added random lm_head so `output.weight` is used),
GGUF files are written with the gguf package's GGUFWriter the way llama.cpp's
convert_hf_to_gguf.py writes them: llama.* / qwen2.* hyperparameter keys,
llama.cpp tensor names, llama's attn_q/attn_k rows permuted into llama.cpp's
interleaved rotary order (LlamaModel.permute), llama3 rope scaling as the
rope_freqs.weight tensor (LlamaModel.generate_extra_tensors), 1-D tensors F32
and 2-D tensors in the file type. The file types are F32, F16, BF16, Q8_0,
Q4_0, Q4_1, Q5_0 and Q5_1 (every type gguf.quants can quantize that kvlm
reads; the K-quants are dequantize-only in the package and are checked bit for
bit by test_gguf_dequant).

The expectation is always kvlm on a Hugging Face directory: for F32 the synth
directory itself, for the other types a directory whose f32 safetensors hold
gguf.quants.dequantize(quantize(w)) (q/k un-permuted back with the inverse of
llama.cpp's permutation). `kvlm run --dtype f32 --ids ... -n 8 --json
--top-logits 5` must give the same generated ids, stop reason and top-5 ids,
and logits equal to 1e-5 (relative to the largest |logit|), and bit-equal
logits wherever both sides compute the same rotary frequencies: qwen2 (every
type) and llama with its rope scaling removed (F32). With the llama3 rope
scaling, the GGUF's rope_freqs factors (computed in f32 by the converter and
applied as inv_freq / factor, as ggml does) differ in the last bit from the
directory's scaled frequencies; measured 2-4e-7 relative, under the 1e-5 bound.

Controls that must change the result (so the equalities above are not
vacuous): a llama GGUF written without the q/k permutation, a llama GGUF
without rope_freqs, and a qwen2 GGUF whose output.weight is the embedding.

Bad files: a GGUF missing blk.1.ffn_up.weight and one whose
general.architecture is "gpt2" each give one stderr line naming the problem
and a non-zero exit.

Note on rope_freqs: convert_hf_to_gguf.py reads original_max_position_embeddings
from the top level of config.json (default 8192), not from rope_scaling; real
Llama 3.x configs have 8192 in rope_scaling, so the two agree there. The synth
model's rope_scaling says 64, and this test uses that value (what the model
means), not the converter's 8192 default.
"""
import json
import os
import shutil

import numpy as np

from kvlm_test_util import Checker, parse_args, run, rerun_in_test_venv

try:
    import gguf
    from gguf.quants import dequantize, quantize
except ImportError:  # CTest runs /usr/bin/python3; gguf lives in the test venv.
    rerun_in_test_venv()

import safetensors_util  # noqa: E402
from gguf_writer import permute, write_gguf  # noqa: E402

args = parse_args()
c = Checker()
rng = np.random.default_rng(4242)
PROMPT = ",".join(str(int(i)) for i in rng.integers(4, 512, size=24))
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"]
TOLERANCE = 1e-5


# The inverse of llama.cpp's q/k row permutation (gguf_writer.permute).
def unpermute(w, n_head, n_head_kv):
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# --- HF directories
def read_model(model_dir):
    header, data = safetensors_util.read(os.path.join(model_dir, "model.safetensors"))
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        b, e = info["data_offsets"]
        tensors[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"]).copy()
    config = json.load(open(os.path.join(model_dir, "config.json")))
    return config, tensors


def write_model(model_dir, src_dir, config, tensors):
    os.makedirs(model_dir, exist_ok=True)
    shutil.copy(os.path.join(src_dir, "generation_config.json"), model_dir)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    header, blob = {"__metadata__": {"format": "pt"}}, bytearray()
    for name, t in tensors.items():
        raw = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    safetensors_util.write(os.path.join(model_dir, "model.safetensors"), header, bytes(blob))


def round_trip(w, qtype):
    """What a GGUF of type qtype stores for a 2-D f32 tensor, read back as f32."""
    t = gguf.GGMLQuantizationType[qtype]
    if qtype == "F32":
        return w
    if qtype == "F16":
        return w.astype(np.float16).astype(np.float32)
    return dequantize(quantize(w, t), t).reshape(w.shape)


def kvlm_run(model):
    proc = run([args.kvlm, "run", "-m", model, "--dtype", "f32", "--ids", PROMPT, "-n", "8", "--json",
                "--top-logits", "5", "--seed", "1"], check=False)
    if proc.returncode != 0:
        return None, proc.stderr.strip()
    return json.loads(proc.stdout), ""


def compare(label, got, want, tolerance):
    """Returns (equal within tolerance, max relative logit difference)."""
    if got is None or want is None:
        return False, float("inf"), False, False
    same_ids = (got["prompt_ids"] == want["prompt_ids"] and got["generated_ids"] == want["generated_ids"]
                and got["stop_reason"] == want["stop_reason"])
    top_ids = [[p[0] for p in step] for step in got["top_logits"]]
    want_top_ids = [[p[0] for p in step] for step in want["top_logits"]]
    same_top = top_ids == want_top_ids
    if same_top:
        g = np.array([[p[1] for p in step] for step in got["top_logits"]])
        w = np.array([[p[1] for p in step] for step in want["top_logits"]])
        rel = float(np.abs(g - w).max() / np.abs(w).max())
    else:
        rel = float("inf")
    return same_ids and same_top and rel <= tolerance, rel, same_ids, same_top


def one_error_line(label, model, needle):
    proc = run([args.kvlm, "run", "-m", model, "--dtype", "f32", "--ids", PROMPT, "-n", "2"], check=False)
    lines = [l for l in proc.stderr.split("\n") if l.strip()]
    ok = proc.returncode != 0 and len(lines) == 1 and needle in lines[0] and proc.stdout == ""
    print(f"{label}: exit {proc.returncode}, stderr {proc.stderr.strip()!r:.200}")
    c.check(ok, f"{label}: want one stderr line naming {needle!r} and a non-zero exit; got exit {proc.returncode}, "
                f"stdout {proc.stdout[:80]!r}, stderr {proc.stderr!r:.300}")


for shape in ["tiny-llama", "tiny-qwen2"]:
    synth_dir = os.path.join(args.workdir, f"{shape}-synth")
    if os.path.exists(synth_dir):
        shutil.rmtree(synth_dir)
    run([args.kvlm, "synth", "--shape", shape, "--dtype", "f32", "--seed", "11", "-o", synth_dir])
    config, tensors = read_model(synth_dir)
    hf_dir = synth_dir
    if shape == "tiny-qwen2":
        # Untie: an lm_head of its own, so that output.weight is exercised.
        assert config["tie_word_embeddings"]
        config["tie_word_embeddings"] = False
        tensors["lm_head.weight"] = rng.standard_normal(tensors["model.embed_tokens.weight"].shape).astype(
            np.float32) * 0.05
        hf_dir = os.path.join(args.workdir, f"{shape}-hf")
        write_model(hf_dir, synth_dir, config, tensors)
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    for name, t in tensors.items():  # the inverse really is one
        if name.endswith(("q_proj.weight", "k_proj.weight")):
            n = kv_heads if "k_proj" in name else heads
            assert np.array_equal(unpermute(permute(t, heads, n), heads, n), t)
            assert not np.array_equal(permute(t, heads, n), t)

    hf_f32, err = kvlm_run(hf_dir)
    c.check(hf_f32 is not None, f"{shape}: kvlm run on the HF dir failed: {err}")
    if hf_f32 is None:
        continue
    print(f"{shape}: HF dir generates {hf_f32['generated_ids']} ({hf_f32['stop_reason']})")

    for qtype in TYPES:
        path = os.path.join(args.workdir, f"{shape}-{qtype}.gguf")
        write_gguf(path, config, tensors, qtype)
        if qtype == "F32":
            ref_dir, want = hf_dir, hf_f32
        else:
            # Expected weights: what the GGUF holds, dequantized by the gguf package, q/k un-permuted back.
            ref = {}
            for name, t in tensors.items():
                if t.ndim == 1:
                    ref[name] = t
                    continue
                if shape == "tiny-llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
                    n = kv_heads if "k_proj" in name else heads
                    ref[name] = unpermute(round_trip(permute(t, heads, n), qtype), heads, n)
                else:
                    ref[name] = round_trip(t, qtype)
            ref_dir = os.path.join(args.workdir, f"{shape}-{qtype}-hf")
            write_model(ref_dir, synth_dir, config, ref)
            want, err = kvlm_run(ref_dir)
            c.check(want is not None, f"{shape} {qtype}: kvlm run on the dequantized HF dir failed: {err}")
            # The type really changed the weights (so the reference differs from the f32 model).
            changed = any(not np.array_equal(ref[n], tensors[n]) for n in tensors)
            c.check(changed, f"{shape} {qtype}: round trip left every weight unchanged")
        got, err = kvlm_run(path)
        c.check(got is not None, f"{shape} {qtype}: kvlm run on the GGUF failed: {err}")
        ok, rel, same_ids, same_top = compare(f"{shape} {qtype}", got, want, TOLERANCE)
        exact = ok and got["top_logits"] == want["top_logits"]
        print(f"{shape} {qtype:5s}: ids {'=' if same_ids else '!='}, top-5 ids {'=' if same_top else '!='}, "
              f"max rel logit diff {rel:.2e}{' (bit-equal)' if exact else ''} vs {os.path.basename(ref_dir)}")
        c.check(ok, f"{shape} {qtype}: GGUF != HF reference (ids equal {same_ids}, top ids equal {same_top}, "
                    f"rel logit diff {rel:.3e} > {TOLERANCE})")
        if "rope_scaling" not in config:  # same frequencies on both sides: the same f32 arithmetic
            c.check(exact, f"{shape} {qtype}: logits not bit-equal to the HF reference (rel {rel:.3e})")
        if got is not None and want is not None and qtype != "F32":
            # Quantization error is visible against the f32 model (the check above is not vacuous).
            _, rel_f32, _, _ = compare("", got, hf_f32, 0)
            c.check(rel_f32 > 1e-4, f"{shape} {qtype}: logits equal to the f32 model's ({rel_f32:.2e})")

    if shape == "tiny-llama":
        # Exactness where both sides compute the same frequencies: no rope scaling.
        plain = dict(config)
        plain.pop("rope_scaling")
        plain_dir = os.path.join(args.workdir, f"{shape}-norope-hf")
        write_model(plain_dir, synth_dir, plain, tensors)
        path = os.path.join(args.workdir, f"{shape}-norope-F32.gguf")
        write_gguf(path, plain, tensors, "F32")
        want, _ = kvlm_run(plain_dir)
        got, err = kvlm_run(path)
        c.check(got is not None and want is not None and got == dict(want, timings=got["timings"]),
                f"{shape} without rope scaling, F32: GGUF output != HF dir output exactly ({err})")
        print(f"{shape} F32 without rope scaling: bit-equal "
              f"{got is not None and want is not None and got['top_logits'] == want['top_logits']}")

        # Controls: no q/k permutation, and no rope_freqs, must each change the logits.
        for label, kw in [("without the q/k permutation", {"permute_qk": False}),
                          ("without rope_freqs.weight", {"with_rope_freqs": False})]:
            path = os.path.join(args.workdir, f"{shape}-control-{kw and list(kw)[0]}.gguf")
            write_gguf(path, config, tensors, "F32", **kw)
            got, err = kvlm_run(path)
            c.check(got is not None, f"{shape} {label}: run failed: {err}")
            if got is not None:
                ok, rel, _, _ = compare(label, got, hf_f32, TOLERANCE)
                print(f"{shape} control {label}: rel logit diff vs HF dir {rel:.2e} (inf: top-5 ids differ)")
                c.check(not ok and rel > 1e-3, f"{shape} {label}: logits still equal the HF dir's (rel {rel:.2e})")
    else:
        # Control: output.weight must be read (an lm_head equal to the embedding changes the logits).
        path = os.path.join(args.workdir, f"{shape}-control-output.gguf")
        write_gguf(path, config, tensors, "F32", output_override=tensors["model.embed_tokens.weight"])
        got, err = kvlm_run(path)
        if got is not None:
            ok, rel, _, _ = compare("output", got, hf_f32, TOLERANCE)
            print(f"{shape} control output.weight = token_embd: rel logit diff {rel:.2e} (inf: top-5 ids differ)")
            c.check(not ok and rel > 1e-3, f"{shape}: output.weight seems ignored (rel {rel:.2e})")
        else:
            c.check(False, f"{shape} output control: run failed: {err}")

    # kvlm convert MODEL.gguf: an f32 package runs exactly as the GGUF does.
    gguf_path = os.path.join(args.workdir, f"{shape}-F32.gguf")
    package = os.path.join(args.workdir, f"{shape}-f32.kvlm")
    run([args.kvlm, "convert", gguf_path, "-o", package, "--dtype", "f32", "-q"])
    got, err = kvlm_run(package)
    want, _ = kvlm_run(gguf_path)
    c.check(got is not None and want is not None and got["top_logits"] == want["top_logits"]
            and got["generated_ids"] == want["generated_ids"],
            f"{shape}: the f32 package converted from the GGUF differs from the GGUF ({err})")

    # Bad files.
    path = os.path.join(args.workdir, f"{shape}-missing.gguf")
    write_gguf(path, config, tensors, "Q8_0", drop=("blk.1.ffn_up.weight",))
    one_error_line(f"{shape} GGUF missing blk.1.ffn_up.weight", path, "blk.1.ffn_up.weight")
    path = os.path.join(args.workdir, f"{shape}-gpt2.gguf")
    write_gguf(path, config, tensors, "F32", arch="gpt2")
    one_error_line(f"{shape} GGUF with general.architecture gpt2", path, "gpt2")

c.finish()
