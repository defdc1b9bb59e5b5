"""Parameter counts of a model, as published (docs/models.md §M2).

Counted: every matmul weight (attention incl. MLA projections, dense FFN, every routed and shared expert,
the MoE router) and the embedding and LM-head matrices (one matrix when tied). Not counted: norms,
biases, attention sinks, the MTP module of DeepSeek-V3 — together < 0.05 % of every shipped model.

*Active* parameters per token are the weights one token multiplies with: attention, the dense FFN or the
top-k routed plus the shared experts, the router, and the LM head. The input embedding is a row lookup,
not a matmul, and is not counted (gpt-oss's convention, 5.13 B for gpt-oss-120b; Mixtral's published
12.9 B counts it, which puts our 12.75 B 1.2 % below).

With no docs/models.md key set, :func:`weight_params` is the §10 ``model_size`` exactly.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Model


def mla_attention_params(m: "Model") -> int:
    """Per layer, MLA (DeepSeek-V2/V3; docs/models.md eq. M2.2): W_DQ (d·r_q) and W_UQ (r_q·H·(n+ρ)),
    or one W_Q (d·H·(n+ρ)) without query compression; W_DKV+W_KR (d·(r_kv+ρ)); W_UK+W_UV
    (r_kv·H·(n+v)); W_O (H·v·d)."""
    d, H, rho, r_kv, r_q = m.d, m.num_heads, m.qk_rope_head_dim, m.kv_lora_rank, m.q_lora_rank
    n, v = m.nope_head_dim, m.value_head_dim
    q = d * r_q + r_q * H * (n + rho) if r_q else d * H * (n + rho)
    return q + d * (r_kv + rho) + r_kv * H * (n + v) + H * v * d


def attention_params(m: "Model") -> float:
    """Per-layer attention weights: MLA (eq. M2.2) or §10 ``atten`` (q + k + v + o, GQA by real division)."""
    return mla_attention_params(m) if m.is_mla else m.atten_params


def expert_params(m: "Model") -> int:
    """One expert (routed or shared): d·d_e + d_e·d, plus d·d_e for a gated FFN (eq. M2.3)."""
    w = m.expert_width
    return (3 if m.gated else 2) * m.d * w


def router_params(m: "Model") -> int:
    """The router of one MoE layer: d·E (eq. M2.3)."""
    return m.d * m.num_experts


def moe_ffn_params(m: "Model") -> int:
    """All FFN weights of one MoE layer: (E + shared)·expert + router (memory holds every expert)."""
    return (m.num_experts + m.num_shared_experts) * expert_params(m) + router_params(m)


def moe_active_ffn_params(m: "Model") -> int:
    """FFN weights one token uses in an MoE layer: (k + shared)·expert + router."""
    return (m.experts_per_token + m.num_shared_experts) * expert_params(m) + router_params(m)


def embedding_params(m: "Model") -> int:
    """V·d for the embedding plus V·d for an untied LM head (eq. M2.1)."""
    return m.vocab_size * m.d * (1 if m.tie_word_embeddings else 2)


def weight_params(m: "Model") -> float:
    """Total parameters (eq. M2.4): dense layers × (atten + ffn + glu) + MoE layers × (atten + MoE FFN)
    + embeddings. Equal to §10 ``model_size`` when no §M1 key is set."""
    attn = attention_params(m)
    total = m.dense_layers * (attn + m.ffn_params + m.glu_params)
    if m.moe_layers:
        total = total + m.moe_layers * (attn + moe_ffn_params(m))
    return total + embedding_params(m)


def active_params(m: "Model") -> float:
    """Parameters one token multiplies with (eq. M2.5): attention, dense FFN or top-k + shared experts +
    router, and the LM head (the input embedding is a lookup)."""
    attn = attention_params(m)
    total = m.dense_layers * (attn + m.ffn_params + m.glu_params)
    if m.moe_layers:
        total = total + m.moe_layers * (attn + moe_active_ffn_params(m))
    return total + m.vocab_size * m.d


def weight_bytes(m: "Model", weight_bits):
    """Weight memory at ``weight_bits`` per weight (16, 8, 4; numbers or arrays): params × bits / 8."""
    return weight_params(m) * weight_bits / 8


def modern_flops(m: "Model", n, prefill: bool):
    """FLOPs of a model with docs/models.md §M1 keys (eq. M7.3), no causal halving as in §10.

    Prefill of n tokens: 2·n·active + n·L·attention(c̄(n)); one generated token at context n:
    2·active + L·attention(c̄(n)), with c̄ the window-averaged context (eq. M3.2) and attention per query
    4·H·d_head·c (MHA/GQA), expanded MLA (eq. M6.2) in prefill, absorbed MLA (eq. M6.3) in decode. Every
    matmul counts (the GLU gate included, as §16.2 #5 fixes).
    """
    from . import mla
    from .kv import attended_context
    c = attended_context(m, n)
    if m.is_mla:
        if prefill:
            attn = mla.attention_flops_expanded(m.num_heads, m.qk_rope_head_dim, m.nope_head_dim, m.value_head_dim, c)
        else:
            attn = mla.attention_flops_absorbed(m.num_heads, m.kv_lora_rank, m.qk_rope_head_dim, c)
    else:
        attn = 4 * m.num_heads * m.d_head * c
    per_token = 2 * active_params(m) + m.num_layers * attn
    return n * per_token if prefill else per_token
