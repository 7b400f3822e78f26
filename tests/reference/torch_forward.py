"""An independent PyTorch forward pass for Llama and Qwen2 checkpoints, written
like transformers' modeling code (rotate_half RoPE, llama3 rope scaling, GQA by
repeat_interleave, an additive causal mask over the whole sequence). It reads
config.json and model.safetensors itself and shares no code with kvlm.

Run under /usr/bin/python3 (Debian's python3-torch and python3-numpy)."""
import json
import math
import os
import struct

import numpy as np
import torch


def load_safetensors(path):
    """Returns {name: float32 torch tensor}; BF16 and F16 are widened exactly."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin: base + end]
        if info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"unsupported dtype {info['dtype']}")
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


def rope_inv_freq(cfg, head_dim):
    base = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    scaling = cfg.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old_ctx = scaling["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_ctx / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        inv_freq = torch.where(medium, smoothed, scaled)
    return inv_freq


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def forward(model_dir, ids):
    """Logits [len(ids)][vocab] (float32) for a full causal prefill of ids."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    hidden, n_heads = cfg["hidden_size"], cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_heads)
    head_dim = cfg.get("head_dim") or hidden // n_heads
    eps = cfg["rms_norm_eps"]
    has_bias = qwen or cfg.get("attention_bias", False)
    T = len(ids)

    inv_freq = rope_inv_freq(cfg, head_dim)
    positions = torch.arange(T, dtype=torch.float32)
    freqs = positions[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()  # [T, head_dim]
    mask = torch.full((T, T), float("-inf")).triu(1)

    def linear(x, name, bias):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if bias else y

    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, p + "self_attn.q_proj", has_bias).view(T, n_heads, head_dim).transpose(0, 1)
        k = linear(h, p + "self_attn.k_proj", has_bias).view(T, n_kv, head_dim).transpose(0, 1)
        v = linear(h, p + "self_attn.v_proj", has_bias).view(T, n_kv, head_dim).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(n_heads // n_kv, dim=0)
        v = v.repeat_interleave(n_heads // n_kv, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(head_dim) + mask
        attn = torch.softmax(scores, dim=-1) @ v  # [heads, T, head_dim]
        attn = attn.transpose(0, 1).reshape(T, n_heads * head_dim)
        x = x + linear(attn, p + "self_attn.o_proj", (not qwen) and cfg.get("attention_bias", False))
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(h, p + "mlp.gate_proj", False)
        up = linear(h, p + "mlp.up_proj", False)
        x = x + linear(torch.nn.functional.silu(gate) * up, p + "mlp.down_proj", False)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return (x @ head.T).numpy()
