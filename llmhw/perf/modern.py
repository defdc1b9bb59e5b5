"""Per-layer operators and communication of modern models (docs/models.md §M4–§M7); numbers or arrays.

Extends the six §13.2 operators for models with the keys of docs/models.md §M1, in the one formula set
that both drivers (one point, the grid) evaluate:

- **MLA** (§M6) replaces QKV / QKᵀ / S·V / attention output by the latent projections and the expanded
  (prefill) or absorbed (decode) attention;
- **MoE** (§M5) layers replace the dense FFN by the router, the shared experts and the routed experts of
  the distinct experts a micro-batch touches, spread over e expert-parallel groups of t/e chips;
- **sliding windows** (§M3) shorten the attended context;
- the **LM head** (vocabulary set) is one more matmul per token, counted once over the L layers;
- **precision** (§M4) sets each operand's bytes per element and the compute rate.

Layers of two kinds (the first dense layers of DeepSeek-V3 and its MoE layers) are averaged: an operator
carries the ``share`` of the layers it belongs to, so the per-layer sum is the mean layer (docs/models.md
eq. M7.1) and ``layers_per_stage`` × mean layer keeps §13.6's stage formula.
"""
from __future__ import annotations

import math
from llmhw.fidelity import Fidelity
from llmhw.workload.kv import attended_context
from llmhw.workload.model import Model
from llmhw.workload.system import System

from . import moe, xp
from .collectives import allreduce_time_s
from .shapes import Operator, context_len, rows

#: Load for an operand already read by the previous operator (the absorbed S·V re-reads the latent that
#: QKᵀ loaded): an infinite divisor makes its t_load 0.
ALREADY_LOADED = math.inf


def layer_shares(model: Model) -> tuple[float, float]:
    """(dense, MoE) fractions of the L layers (eq. M7.1): (1, 0) for a dense model."""
    L = model.num_layers
    return model.dense_layers / L, model.moe_layers / L


def attention_operators(model: Model, t, prefill: bool, micro_batch, prefill_len: int, decode_len: int,
                        attn_cols, qkv_cols, fidelity: Fidelity, context=None) -> tuple[Operator, ...]:
    """Attention of one layer: MLA (eq. M6.6–M6.7) or the §13.2 operators with the windowed context."""
    R = rows(prefill, micro_batch, prefill_len)
    c = attended_context(model, context_len(prefill, prefill_len, decode_len) if context is None else context)
    I_att = prefill_len if prefill else 1
    d = model.d
    if not model.is_mla:
        kv_div = model.heads_per_kv_cache if fidelity.gqa_in_perf_shapes else 1
        return (Operator("qkv", 1, R, d, qkv_cols, False),
                Operator("qk", micro_batch, I_att, attn_cols, c, True, kv_div),
                Operator("sv", micro_batch, I_att, c, attn_cols, True, kv_div),
                Operator("attn_out", 1, R, attn_cols, d, False))
    H_c = xp.ceil(model.num_heads / t)                    # heads per chip
    r, rho, r_q = model.kv_lora_rank, model.qk_rope_head_dim, model.q_lora_rank
    n, v = model.nope_head_dim, model.value_head_dim
    ops = []
    if r_q:
        ops.append(Operator("q_a", 1, R, d, r_q, False))               # W_DQ, on every chip
    ops.append(Operator("q_b", 1, R, r_q or d, H_c * (n + rho), False))
    ops.append(Operator("kv_a", 1, R, d, r + rho, False))               # W_DKV + W_KR, on every chip
    if prefill:                                                          # expanded (eq. M6.6)
        ops += [Operator("kv_b", 1, R, r, H_c * (n + v), False),
                Operator("qk", micro_batch, I_att, H_c * (n + rho), c, True),
                Operator("sv", micro_batch, I_att, c, H_c * v, True)]
    else:                                                                # absorbed (eq. M6.7)
        ops += [Operator("absorb_k", H_c, R, n, r, False),
                Operator("qk", micro_batch, H_c * I_att, r + rho, c, True),
                Operator("sv", micro_batch, H_c * I_att, c, r, True, ALREADY_LOADED),
                Operator("absorb_v", H_c, R, r, v, False)]
    ops.append(Operator("attn_out", 1, R, H_c * v, d, False))
    return tuple(ops)


def ffn_operators(system: System, t, e, prefill: bool, micro_batch, ff_cols) -> tuple[Operator, ...]:
    """The FFN of the mean layer (eq. M7.1): dense FFN × dense share; router, shared and routed experts × MoE
    share (eq. M5.8); the LM head once over the L layers (eq. M7.2)."""
    model = system.model
    R = rows(prefill, micro_batch, system.prefill_len)
    d, g = model.d, 2 if model.gated else 1
    f_dense, f_moe = layer_shares(model)
    ops = []
    if f_dense:
        ops += [Operator("fc1", g, R, d, ff_cols, False, share=f_dense),
                Operator("fc2", 1, R, ff_cols, d, False, share=f_dense)]
    if f_moe:
        E, k, w = model.num_experts, model.experts_per_token, model.expert_width
        ops.append(Operator("router", 1, R, d, E, False, share=f_moe))
        if model.num_shared_experts:
            s_cols = xp.ceil(model.num_shared_experts * w / t)
            ops += [Operator("shared_fc1", g, R, d, s_cols, False, share=f_moe),
                    Operator("shared_fc2", 1, R, s_cols, d, False, share=f_moe)]
        touched = moe.distinct_experts(E, k, R)                       # eq. M5.1
        per_group = touched / e * moe.imbalance(system.moe_imbalance, e)     # eq. M5.2
        tokens = R * k / touched                                       # rows per touched expert
        e_cols = xp.ceil(w / (t / e))                                  # an expert split over t/e chips
        ops += [Operator("expert_fc1", g * per_group, tokens, d, e_cols, False, share=f_moe),
                Operator("expert_fc2", per_group, tokens, e_cols, d, False, share=f_moe)]
    if model.vocab_size:
        lm_rows = micro_batch                                          # the last position of each sequence
        ops.append(Operator("lm_head", 1, lm_rows, d, xp.ceil(model.vocab_size / t), False,
                            share=1 / model.num_layers))
    return tuple(ops)


def modern_operators(system: System, geom, prefill: bool, micro_batch, fidelity: Fidelity,
                     context=None) -> tuple[Operator, ...]:
    """The per-layer operators of a model with docs/models.md §M1 keys on the layout ``geom``; ``context``:
    the attended context c (default §13.2's, or an exact decode context, docs/validation.md §V.8)."""
    P, G = system.prefill_len, system.decode_len
    return (attention_operators(system.model, geom.t, prefill, micro_batch, P, G, geom.attn_cols, geom.qkv_cols,
                                fidelity, context)
            + ffn_operators(system, geom.t, geom.e, prefill, micro_batch, geom.ff_cols))


def with_precision(ops: tuple[Operator, ...], system: System) -> tuple[Operator, ...]:
    """Operand bytes and compute rate of each operator at the system's precision (eq. M4.1–M4.2): weights at
    weight_bits, KV loads at kv_bits; a matmul runs at the rate of its wider operand. Unchanged (§16.1 #5
    fixed bytes) when no bit width is set."""
    if not system.precision_set:
        return ops
    chip = system.server.package.chip
    abits = system.act_bytes_per_number * 8
    out = []
    for op in ops:
        bpe = system.kv_bytes_per_number if op.kv_bandwidth else system.weight_bytes_per_number
        out.append(op._replace(load_bytes=bpe, perf_scale=chip.perf_scale(max(bpe * 8, abits))))
    return tuple(out)


def moe_comm_s(system: System, geom, prefill: bool, micro_batch, comm_fc):
    """FFN communication of the mean layer (eq. M5.9): dense share × the §13.4 all-reduce over t; MoE share
    × (all-reduce over the t/e chips of an expert group + dispatch and combine all-to-all among e groups)."""
    model = system.model
    f_dense, f_moe = layer_shares(model)
    if not f_moe:
        return comm_fc
    R = rows(prefill, micro_batch, system.prefill_len)
    ab = system.act_bytes_per_number
    ar_group = allreduce_time_s(system.allreduce_algo, geom.ring_ep, R * model.d * ab, geom.ar_alpha_s,
                                geom.ar_beta_s_per_byte)
    n = moe.alltoall_bytes_per_chip(R, model.experts_per_token, model.d, ab * 8, geom.e)
    a2a = moe.alltoall_s(geom.e, n, geom.ar_alpha_s, geom.ar_beta_s_per_byte)
    return f_dense * comm_fc + f_moe * (ar_group + 2 * a2a)
