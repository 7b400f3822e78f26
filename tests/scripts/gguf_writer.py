"""Writes GGUF files with the gguf package's GGUFWriter the way llama.cpp's
convert_hf_to_gguf.py writes them (for test_gguf_models and the llama.cpp
speed comparison, bench/llama_cpp_compare.sh): llama.* / qwen2.*
hyperparameter keys, llama.cpp tensor names, llama's attn_q/attn_k rows
permuted into llama.cpp's interleaved rotary order (LlamaModel.permute),
llama3 rope scaling as the rope_freqs.weight tensor
(LlamaModel.generate_extra_tensors), 1-D tensors F32 and 2-D tensors in the
file type. Needs the gguf package (scripts/python_env.sh).
"""
import gguf
import numpy as np
from gguf.quants import quantize

FILE_TYPE = {"F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16,
             "BF16": gguf.LlamaFileType.MOSTLY_BF16, "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
             "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0, "Q4_1": gguf.LlamaFileType.MOSTLY_Q4_1,
             "Q5_0": gguf.LlamaFileType.MOSTLY_Q5_0, "Q5_1": gguf.LlamaFileType.MOSTLY_Q5_1}
HF_TO_GGUF = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def gguf_name(hf):
    if hf in HF_TO_GGUF:
        return HF_TO_GGUF[hf]
    parts = hf.split(".")  # model.layers.N.<module...>.(weight|bias)
    assert parts[:2] == ["model", "layers"], hf
    return f"blk.{parts[2]}.{LAYER['.'.join(parts[3:-1])]}.{parts[-1]}"


# --- llama.cpp's q/k row permutation (convert_hf_to_gguf.py LlamaModel.permute)
def permute(w, n_head, n_head_kv):
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rope_freqs(config):
    """LlamaModel.generate_extra_tensors: llama3 rope scaling as per-frequency divisors."""
    rs = config["rope_scaling"]
    base = config.get("rope_theta", 10000.0)
    dim = config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / np.float32(dim)))
    factor = rs.get("factor", 8.0)
    low, high = rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
    old = config.get("original_max_position_embeddings", rs["original_max_position_embeddings"])  # see docstring
    low_wavelen, high_wavelen = old / low, old / high
    out = []
    for freq in freqs.astype(np.float32):
        wavelen = 2 * np.pi / freq
        if wavelen < high_wavelen:
            out.append(1)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


# --- GGUF writing
def write_gguf(path, config, tensors, qtype, arch=None, permute_qk=True, with_rope_freqs=True, drop=(),
               output_override=None, vocab=None):
    """tensors: Hugging Face name -> f32 array. vocab: None (no token list, as
    the synth directories have no tokenizer) or a Hugging Face tokenizer.json
    (parsed) of a byte-level BPE, written as llama.cpp's gpt2 / llama-bpe."""
    arch_name = arch or config["model_type"]
    w = gguf.GGUFWriter(path, arch_name)
    a = config["model_type"]
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim", config["hidden_size"] // heads)
    w.add_name(f"synth {a}")
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_rope_freq_base(config["rope_theta"])
    if "head_dim" in config:  # TextModel.set_gguf_parameters
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(config["vocab_size"])
    w.add_file_type(FILE_TYPE[qtype])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    if vocab is not None:
        add_bpe_vocab(w, vocab)
    # The synth models' special ids.
    w.add_bos_token_id(config["bos_token_id"])
    eos = config["eos_token_id"] if isinstance(config["eos_token_id"], list) else [config["eos_token_id"]]
    w.add_eos_token_id(eos[0])
    if len(eos) > 1:
        w.add_eot_token_id(eos[1])

    out = dict(tensors)
    if output_override is not None:
        out["lm_head.weight"] = output_override
    for name, t in out.items():
        gname = gguf_name(name)
        if gname in drop:
            continue
        if a == "llama" and permute_qk and name.endswith("self_attn.q_proj.weight"):
            t = permute(t, heads, heads)
        elif a == "llama" and permute_qk and name.endswith("self_attn.k_proj.weight"):
            t = permute(t, heads, kv_heads)
        if t.ndim == 1 or qtype == "F32":
            w.add_tensor(gname, t.astype(np.float32))
        elif qtype == "F16":
            w.add_tensor(gname, t.astype(np.float16))
        else:
            qt = gguf.GGMLQuantizationType[qtype]
            w.add_tensor(gname, quantize(t, qt), raw_dtype=qt)
    if with_rope_freqs and (config.get("rope_scaling") or {}).get("rope_type") == "llama3":
        w.add_tensor("rope_freqs.weight", rope_freqs(config))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def add_bpe_vocab(w, tokenizer):
    """A byte-level BPE tokenizer.json as llama.cpp's gpt2 / llama-bpe vocabulary."""
    ids = dict(tokenizer["model"]["vocab"])
    special = set()
    for t in tokenizer.get("added_tokens", []):
        ids[t["content"]] = t["id"]
        if t.get("special"):
            special.add(t["id"])
    tokens = [""] * (max(ids.values()) + 1)
    for text, i in ids.items():
        tokens[i] = text
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
