#!/usr/bin/python3
"""Golden logits for t2's forward: an independent plain-torch implementation of the Hugging
Face Llama / Mistral / Qwen2 forward (modeling_llama.py, modeling_qwen2.py), computed in
float64 from the float32 weights of the small random test models.

The models are not committed: t2's own test fixture writes them from fixed seeds
(tests/model_fixture.c), this script reads them (config.json, and model.safetensors parsed by
hand: 8-byte header length, JSON header, raw little-endian data), and writes one golden file
per model into tests/reference/golden/. The C test (tests/test_forward_golden.c) rebuilds the
same models in memory, checks their fingerprint (sum and sum of squares of every weight)
against the golden file, and compares its logits (max abs error <= 1e-4).

Regenerate (needs torch and numpy: Debian's python3-torch, python3-numpy):
    cmake --build build --target test_forward_fixture
    /usr/bin/python3 tests/reference/llama_reference.py build/tests/test_forward_fixture

RoPE follows HF exactly: inv_freq (with the "llama3" rope_scaling rule) and the angles are
computed in float32 as transformers does, cos/sin in float32, then everything else in float64.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

VARIANTS = ["llama", "llama_bias", "qwen2", "mistral_tied", "llama3_rope", "head_dim"]
N_TOKENS = 16
HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def read_safetensors(path):
    """Tensors of a .safetensors file as float64 torch tensors, by name."""
    with open(path, "rb") as f:
        blob = f.read()
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        array = array.reshape(info["shape"]).astype(np.float64)
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def inv_freq_hf(cfg):
    """transformers' _compute_default_rope_parameters / _compute_llama3_parameters (float32)."""
    base = cfg.get("rope_theta", 10000.0)
    dim = cfg["head_dim"]
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = cfg.get("rope_scaling")
    if not scaling:
        return inv_freq
    factor = scaling["factor"]
    low_freq_factor = scaling["low_freq_factor"]
    high_freq_factor = scaling["high_freq_factor"]
    old_context_len = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium, smoothed, inv_freq_llama)


def rms_norm(x, weight, eps):
    variance = (x * x).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(cfg, w, tokens):
    """Logits (T x vocab, float64) of one sequence starting at position 0."""
    n_tokens = len(tokens)
    d = cfg["hidden_size"]
    n_heads, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    attention_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] == "llama" and cfg.get("attention_bias", False)

    positions = torch.arange(n_tokens, dtype=torch.float32)
    freqs = (inv_freq_hf(cfg)[:, None] @ positions[None, :]).T  # float32 like HF
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().double(), emb.sin().double()

    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    causal = torch.triu(torch.ones(n_tokens, n_tokens, dtype=torch.bool), diagonal=1)
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        proj = {}
        for name in ("q", "k", "v"):
            y = h @ w[p + f"self_attn.{name}_proj.weight"].T
            if attention_bias:
                y = y + w[p + f"self_attn.{name}_proj.bias"]
            proj[name] = y
        q = proj["q"].view(n_tokens, n_heads, hd).transpose(0, 1)
        k = proj["k"].view(n_tokens, n_kv, hd).transpose(0, 1)
        v = proj["v"].view(n_tokens, n_kv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = n_heads // n_kv
        k = k.repeat_interleave(group, dim=0)  # HF repeat_kv: head j uses KV head j // group
        v = v.repeat_interleave(group, dim=0)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        scores = scores.masked_fill(causal, float("-inf"))
        attn = torch.softmax(scores, dim=-1) @ v
        attn = attn.transpose(0, 1).reshape(n_tokens, n_heads * hd)
        out = attn @ w[p + "self_attn.o_proj.weight"].T
        if o_bias:
            out = out + w[p + "self_attn.o_proj.bias"]
        x = x + out
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    lm_head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ lm_head.T


def write_golden(path, variant, cfg, w, tokens, logits):
    total = sum(float(t.sum()) for t in w.values())
    total_sq = sum(float((t * t).sum()) for t in w.values())
    with open(path, "w") as f:
        f.write(f"# t2 golden logits, written by tests/reference/llama_reference.py\n")
        f.write(f"variant {variant}\n")
        f.write(f"fingerprint {total!r} {total_sq!r}\n")
        f.write(f"tokens {len(tokens)} " + " ".join(str(t) for t in tokens) + "\n")
        f.write(f"logits {logits.shape[0]} {logits.shape[1]}\n")
        for row in logits.tolist():
            f.write(" ".join(f"{value:.8g}" for value in row) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: llama_reference.py PATH/TO/test_forward_fixture")
    out_dir = os.path.join(HERE, "golden")
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as models:
        subprocess.run([sys.argv[1], models], check=True)
        for index, variant in enumerate(VARIANTS):
            folder = os.path.join(models, variant)
            with open(os.path.join(folder, "config.json")) as f:
                cfg = json.load(f)
            cfg.setdefault("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
            w = read_safetensors(os.path.join(folder, "model.safetensors"))
            rng = np.random.default_rng(1000 + index)
            tokens = [int(t) for t in rng.integers(0, cfg["vocab_size"], N_TOKENS)]
            with torch.no_grad():
                logits = forward(cfg, w, tokens)
            path = os.path.join(out_dir, f"{variant}.txt")
            write_golden(path, variant, cfg, w, tokens, logits)
            print(f"{path}: {len(tokens)} tokens, |logits| max {float(logits.abs().max()):.3f}")


if __name__ == "__main__":
    main()
