"""Per-layer operator shapes of one micro-batch on one chip (model.md §13.2).

Each operator multiplies a left operand (…, I, J) by a right operand (…, J, K) that is loaded from
memory; ``stacks`` is the product of the leading dims. The reference ignores GQA here (§16.1 #4); with
``fidelity.gqa_in_perf_shapes`` (§16.2 #3) the QKV output columns are ceil((d_at + 2·d_at/G_kv)/t) and
the K/V loads of QKᵀ and S·V are divided by G_kv (``load_divisor``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

from llmhw.fidelity import Fidelity
from llmhw.workload.model import Model

OPERATOR_NAMES = ("qkv", "qk", "sv", "attn_out", "fc1", "fc2")


class Operator(NamedTuple):
    """One §13.2 matmul (a named tuple: immutable and cheap to build on the hot path)."""

    name: str
    stacks: int                  # numbers for one point, arrays on the grid
    I: float
    J: float
    K: float
    kv_bandwidth: bool           # loaded at kv_bw (attention) rather than w_bw (weights)
    load_divisor: float = 1      # G_kv for the K/V loads when GQA is in the shapes (corrected)
    work_fraction: float = 1     # causal prefill attention: (P + 1) / (2P) of the score work (corrected, §V.4)


def context_len(prefill: bool, prefill_len: int, decode_len: int, decode_context: float | None = None) -> float:
    """§13.2: c = P in prefill, P + G/2 in decode (may be fractional). A decode step at an exact context
    (``decode_context`` tokens already cached, docs/validation.md §V.8) reads decode_context + 1 positions."""
    if prefill:
        return prefill_len
    return prefill_len + decode_len / 2 if decode_context is None else decode_context + 1


def rows(prefill: bool, micro_batch: int, prefill_len: int) -> int:
    """§13.1: activation rows R = P × pmb (prefill) or mb (decode)."""
    return prefill_len * micro_batch if prefill else micro_batch


def qkv_columns(model: Model, t: float, fidelity: Fidelity) -> int:
    d_at = model.d_attn
    if fidelity.gqa_in_perf_shapes:
        return math.ceil((d_at + 2 * d_at / model.heads_per_kv_cache) / t)
    return math.ceil(3 * d_at / t)


def operator_shapes(model: Model, attn_cols, ff_cols, qkv_cols, micro_batch, rows_, context, attn_rows,
                    fidelity: Fidelity, score_fraction: float = 1) -> tuple[Operator, ...]:
    """§13.2 table: QKV, QKᵀ, S·V, attention output, FC1 (gated: two stacks), FC2.

    ``attn_cols`` = ceil(d_at / t), ``ff_cols`` = ceil(d_ff / t) and ``qkv_cols`` (:func:`qkv_columns`) come
    from the stage geometry (:mod:`llmhw.perf.geometry`); ``rows_`` = R (:func:`rows`), ``context`` = c
    (:func:`context_len`), ``attn_rows`` = P in prefill, 1 in decode, ``score_fraction`` the share of the
    attention score work done (causal prefill, docs/validation.md §V.4). Numbers (one point) or int64 arrays
    (the grid). A new operator is one more entry here (its time is summed by
    :func:`llmhw.perf.latency.micro_batch_latency`).
    """
    R, c, I_att = rows_, context, attn_rows
    d = model.d
    kv_div = model.heads_per_kv_cache if fidelity.gqa_in_perf_shapes else 1
    return (
        Operator("qkv", 1, R, d, qkv_cols, False),
        Operator("qk", micro_batch, I_att, attn_cols, c, True, kv_div, score_fraction),
        Operator("sv", micro_batch, I_att, c, attn_cols, True, kv_div, score_fraction),
        Operator("attn_out", 1, R, attn_cols, d, False),
        Operator("fc1", 2 if model.gated else 1, R, d, ff_cols, False),
        Operator("fc2", 1, R, ff_cols, d, False),
    )
