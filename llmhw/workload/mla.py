"""Multi-head latent attention per layer and token (docs/models.md §M6; DeepSeek-V2 paper arXiv 2405.04434
§2.1 and appendix C, DeepSeek-V3 report arXiv 2412.19437 §2.1.1).

Notation: H heads, r_q = q_lora_rank, r = kv_lora_rank, ρ = qk_rope_head_dim, n = qk_nope_head_dim,
v = v_head_dim, c = attended context. Pure functions of numbers or numpy arrays.

*Expanded* (prefill): the latent of every token is up-projected to per-head keys (n) and values (v);
attention is ordinary multi-head attention with key width n + ρ.
*Absorbed* (decode): W_UK is folded into the query and W_UV into the output, so every head attends
directly over the cached latent (r) and the shared RoPE key (ρ): the cache is read once per step for
all heads, at the price of attention FLOPs over r + ρ instead of n + ρ.
"""
from __future__ import annotations


def projection_flops(d, H, r_q, r, rho, n, v):
    """Projection FLOPs per token (eq. M6.1), identical in both forms: 2 × the MLA weights
    (W_DQ, W_UQ or W_Q, W_DKV+W_KR, W_UK, W_UV, W_O). Absorbed, W_UK and W_UV multiply the query and
    the attention output per head instead of every cached token's latent: 2·r·H·(n + v) either way."""
    q = d * r_q + r_q * H * (n + rho) if r_q else d * H * (n + rho)
    return 2 * (q + d * (r + rho) + r * H * (n + v) + H * v * d)


def attention_flops_expanded(H, rho, n, v, c):
    """Score and value FLOPs per query token at context c, expanded (eq. M6.2): 2·H·(n + ρ)·c + 2·H·v·c."""
    return 2 * H * (n + rho) * c + 2 * H * v * c


def attention_flops_absorbed(H, r, rho, c):
    """Score and value FLOPs per query token at context c, absorbed (eq. M6.3): 2·H·(r + ρ)·c + 2·H·r·c."""
    return 2 * H * (r + rho) * c + 2 * H * r * c


def decode_flops_per_token(d, H, r_q, r, rho, n, v, c):
    """One layer's FLOPs for one decoded token at context c (eq. M6.4): projections + absorbed attention."""
    return projection_flops(d, H, r_q, r, rho, n, v) + attention_flops_absorbed(H, r, rho, c)


def cache_bytes_per_token(r, rho, kv_bits):
    """Cached bytes per token and layer (eq. M3.1, MLA): (r + ρ)·bits/8, shared by all heads."""
    return (r + rho) * kv_bits / 8


def decode_cache_read_bytes(r, rho, c, kv_bits):
    """Cache bytes one sequence's decode step reads per layer (eq. M6.5): the latent and RoPE key of c
    tokens, once for all heads (absorbed form)."""
    return c * cache_bytes_per_token(r, rho, kv_bits)
