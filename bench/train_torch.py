#!/usr/bin/python3
"""PyTorch reference for bench_train: forward + backward tokens/s of the same Llama-style
model and batch (float32, CPU), written out in plain torch (transformers is not needed):
embedding, RMSNorm, rotate-half RoPE, grouped-query causal attention, SwiGLU, untied lm_head,
cross-entropy (mean over tokens), loss.backward(). Parameters hold .grad like t2's gradients.

Tries each formulation (fused q|k|v and gate|up projections, or separate ones) and prints
the best as "tokens/s: X" (and each as "config ...: X"). Threads: torch.set_num_threads from
--threads; the driver (bench_train) sets the BLAS's kernels and threads in the environment
(BLIS_ARCH_TYPE, BLIS_NUM_THREADS, OPENBLAS_NUM_THREADS, OMP_NUM_THREADS).

Usage: train_torch.py --d 256 --heads 8 --kv-heads 4 --layers 6 --ffn 704 --vocab 259
                      --seqs 32 --len 128 --repeats 3 --threads 2"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, a, fused):
        super().__init__()
        self.a, self.fused = a, fused
        hd = a.d // a.heads
        self.hd, self.q_dim, self.kv_dim = hd, a.heads * hd, a.kv_heads * hd
        self.norm1 = torch.nn.Parameter(torch.ones(a.d))
        self.norm2 = torch.nn.Parameter(torch.ones(a.d))
        if fused:
            self.qkv = torch.nn.Linear(a.d, self.q_dim + 2 * self.kv_dim, bias=False)
            self.gu = torch.nn.Linear(a.d, 2 * a.ffn, bias=False)
        else:
            self.q = torch.nn.Linear(a.d, self.q_dim, bias=False)
            self.k = torch.nn.Linear(a.d, self.kv_dim, bias=False)
            self.v = torch.nn.Linear(a.d, self.kv_dim, bias=False)
            self.gate = torch.nn.Linear(a.d, a.ffn, bias=False)
            self.up = torch.nn.Linear(a.d, a.ffn, bias=False)
        self.o = torch.nn.Linear(self.q_dim, a.d, bias=False)
        self.down = torch.nn.Linear(a.ffn, a.d, bias=False)

    def forward(self, x, cos, sin, mask):
        a, b, t = self.a, x.shape[0], x.shape[1]
        h = rms_norm(x, self.norm1)
        if self.fused:
            q, k, v = self.qkv(h).split([self.q_dim, self.kv_dim, self.kv_dim], dim=-1)
        else:
            q, k, v = self.q(h), self.k(h), self.v(h)
        q = q.view(b, t, a.heads, self.hd).transpose(1, 2)
        k = k.view(b, t, a.kv_heads, self.hd).transpose(1, 2)
        v = v.view(b, t, a.kv_heads, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        group = a.heads // a.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        att = torch.softmax(scores, dim=-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(b, t, self.q_dim))
        h = rms_norm(x, self.norm2)
        if self.fused:
            g, u = self.gu(h).chunk(2, dim=-1)
        else:
            g, u = self.gate(h), self.up(h)
        return x + self.down(F.silu(g) * u)


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Model(torch.nn.Module):
    def __init__(self, a, fused):
        super().__init__()
        self.embed = torch.nn.Embedding(a.vocab, a.d)
        self.blocks = torch.nn.ModuleList(Block(a, fused) for _ in range(a.layers))
        self.norm = torch.nn.Parameter(torch.ones(a.d))
        self.lm_head = torch.nn.Linear(a.d, a.vocab, bias=False)
        hd = a.d // a.heads
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        angles = torch.outer(torch.arange(a.len).float(), inv_freq)
        self.cos = torch.cat((angles, angles), dim=-1).cos()
        self.sin = torch.cat((angles, angles), dim=-1).sin()
        self.mask = torch.full((a.len, a.len), float("-inf")).triu(1)

    def forward(self, tokens, targets):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, self.cos, self.sin, self.mask)
        logits = self.lm_head(rms_norm(x, self.norm))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def best_step_seconds(a, fused):
    torch.manual_seed(0)
    model = Model(a, fused)
    for p in model.parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, std=0.02)
    tokens = torch.randint(0, a.vocab, (a.seqs, a.len))
    targets = torch.randint(0, a.vocab, (a.seqs, a.len))
    best = float("inf")
    for r in range(a.repeats + 1):  # the first round warms up
        start = time.perf_counter()
        loss = model(tokens, targets)
        loss.backward()
        elapsed = time.perf_counter() - start
        model.zero_grad(set_to_none=False)
        if r > 0:
            best = min(best, elapsed)
    return best


def main():
    p = argparse.ArgumentParser()
    for name, default in [("d", 256), ("heads", 8), ("kv-heads", 4), ("layers", 6),
                          ("ffn", 704), ("vocab", 259), ("seqs", 32), ("len", 128),
                          ("repeats", 3), ("threads", 2)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    tokens = a.seqs * a.len
    best = 0.0
    for fused in (True, False):
        rate = tokens / best_step_seconds(a, fused)
        print(f"config {'fused' if fused else 'separate'} projections: {rate:.0f}")
        best = max(best, rate)
    print(f"tokens/s: {best:.1f}")


if __name__ == "__main__":
    main()
