"""KV cache of a model (docs/models.md §M3): numbers per token, per sequence, and the attended context.

Pure functions of a :class:`~llmhw.workload.model.Model` and a context length; the context and the bit
width may be Python numbers or numpy arrays (numpy ufuncs only).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .model import Model


def _minimum(a, b):
    """min(a, b) for numbers (a Python number back), np.minimum for arrays."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return a if a <= b else b


def kv_numbers_per_token_layer(m: "Model") -> float:
    """Numbers cached per token in one layer (eq. M3.1): K and V of the KV heads, 2·H·d_head / G_kv
    (§10), or for MLA the latent plus the shared RoPE key, r_kv + ρ (DeepSeek-V2 paper, §2.1.2–2.1.3)."""
    if m.is_mla:
        return m.kv_lora_rank + m.qk_rope_head_dim
    return 2 * m.num_heads * m.d_head / m.heads_per_kv_cache


def attended_context(m: "Model", context):
    """Mean over layers of the tokens one query attends to at context c (eq. M3.2):
    (L_full·c + L_win·min(c, W)) / L; c itself without sliding windows."""
    if not m.windowed_layers:
        return context
    full = m.num_layers - m.windowed_layers
    return (full * context + m.windowed_layers * _minimum(context, m.sliding_window)) / m.num_layers


def kv_numbers_per_sequence(m: "Model", context):
    """Numbers one sequence of ``context`` tokens holds in the cache, all layers (eq. M3.3): windowed
    layers keep only the last W tokens."""
    if not m.windowed_layers:
        return context * m.kv_numbers_per_token
    return m.num_layers * kv_numbers_per_token_layer(m) * attended_context(m, context)


def kv_bytes_per_token(m: "Model", kv_bits=16):
    """Cache bytes per token of one sequence, all layers, before any window caps it (eq. M3.4)."""
    return m.kv_numbers_per_token * kv_bits / 8


def kv_bytes_per_token_long_context(m: "Model", kv_bits=16):
    """Cache bytes each further token adds once the context exceeds every window (full layers only)."""
    return (m.num_layers - m.windowed_layers) * kv_numbers_per_token_layer(m) * kv_bits / 8
