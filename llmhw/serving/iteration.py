"""The cost of one serving iteration, from the performance model (docs/serving.md §2).

An iteration of a continuous-batching engine runs ``decode_tokens`` decode steps (one token each, mean
context ``mean_context``) and ``prefill_tokens`` prompt tokens of a chunk (each attending to
``prefill_context`` tokens on average) through all layers, with the mapping (t chips per stage, p stages).
The cost follows model.md §13.2–§13.6 with the two kinds of rows sharing the weight operators (QKV, attention
output, FC1, FC2 with R = decode + prefill rows: Sarathi-Serve's "piggybacking") and separate attention
operators (decode: D stacks of 1 × c; chunk: C × c_chunk). With ``prefill_tokens = 0`` it is the evaluator's
generate micro-batch of ``decode_tokens`` (context P + G/2 = ``mean_context``); with ``decode_tokens = 0`` and
``prefill_tokens = prefill_context = P`` it is the evaluator's prefill micro-batch of one prompt.

Pipeline (p > 1): the running batch is split evenly into p micro-batches in flight (vLLM's virtual engines),
so a token of every request is produced every ``total_s`` of a micro-batch of D/p decode and C/p prefill
rows (§13.6 τ with B/mb = p); the pipeline's occupancy per prompt is one stage time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.perf.collectives import allreduce_latency_s, stage_transfer_s
from llmhw.perf.latency import attention_comm2_s
from llmhw.perf.matmul import matmul_time
from llmhw.perf.shapes import operator_shapes
from llmhw.workload.system import System

_WEIGHT_OPS = ("qkv", "attn_out", "fc1", "fc2")


@dataclass(frozen=True)
class IterationTime:
    """One iteration (one micro-batch through all p stages): total latency, one stage, and its parts."""

    total_s: float
    stage_s: float
    weights_s: float       # weight matmuls (QKV, attention output, FC1, FC2), all layers
    attention_s: float     # QKᵀ and S·V of decode and chunk rows, all layers
    communication_s: float  # all-reduces, all-to-alls and stage-to-stage transfers


@dataclass(frozen=True)
class IterationCost:
    """The iteration-cost interface of the serving model: per-layer cost coefficients of one system and
    mapping (t, p), so that the iteration time is an array expression (docs/serving.md (2.1)).

    For the roofline dataflow every §13.3 operator time is max(compute, load) with compute ∝ rows and load
    fixed (weights) or both ∝ rows·context (decode attention), and every §13.5 collective is α + β·bytes for the
    ring algorithms, so the coefficients below reproduce :func:`micro_batch_iteration` exactly (tested).
    Built by :func:`iteration_cost`.
    """

    p: int
    layers_per_stage: int
    weight_comp_s_per_row: tuple[float, ...]   # per weight operator, one layer
    weight_load_s: tuple[float, ...]
    decode_attn_s_per_row_ctx: float           # QKᵀ + S·V of one decode row per context token
    chunk_attn_comp_s: tuple[float, ...]       # per chunk row per context token (QKᵀ, S·V)
    chunk_attn_load_s: tuple[float, ...]       # per context token
    comm_fixed_s: float                        # per layer: all-reduce/all-to-all init terms
    comm_s_per_row: float                      # per layer, per row
    comm1_s_per_ctx: float                     # per layer, per context token (t > H only)
    comm1_fixed_s: float
    s2s_fixed_s: float                         # per stage boundary
    s2s_s_per_row: float

    def stage_s(self, decode_rows, mean_context, prefill_rows=0.0, prefill_context=0.0):
        """One stage of one micro-batch (floats or numpy arrays)."""
        R = decode_rows + prefill_rows
        layer = self.decode_attn_s_per_row_ctx * decode_rows * mean_context
        for comp, load in zip(self.weight_comp_s_per_row, self.weight_load_s):
            layer = layer + np.where(R > 0, np.maximum(comp * R, load), 0.0)
        for comp, load in zip(self.chunk_attn_comp_s, self.chunk_attn_load_s):
            layer = layer + np.where(prefill_rows > 0,
                                     np.maximum(comp * prefill_rows, load) * prefill_context, 0.0)
        c = np.where(decode_rows > 0, mean_context, prefill_context)
        layer = layer + self.comm_fixed_s + self.comm_s_per_row * R + self.comm1_fixed_s + self.comm1_s_per_ctx * c
        return layer * self.layers_per_stage + self.s2s_fixed_s + self.s2s_s_per_row * R

    def time_s(self, decode_tokens, mean_context, prefill_tokens=0.0, prefill_context=0.0):
        """(2.1) The iteration of the whole running batch (rows split over the p micro-batches in flight):
        the time between two tokens of a running request."""
        return self.p * self.stage_s(decode_tokens / self.p, mean_context, prefill_tokens / self.p,
                                     prefill_context)

    def prompt_occupancy_s(self, prompt_tokens):
        """How long a prompt alone (no decode rows) holds the pipeline: its P rows split over the p
        micro-batches, p · stage(P/p) (= the whole latency when p = 1)."""
        return self.time_s(0.0, 0.0, prompt_tokens, prompt_tokens)


_LINEAR_ALLREDUCE = ("ring", "2d_ring", "3d_ring")


def iteration_cost(system: System, t: float, p: int, fidelity: Fidelity) -> IterationCost | None:
    """The coefficients of :class:`IterationCost` from the §13.2 operators, §13.3 roofline times and §13.5
    collectives at unit sizes; None when they are not linear (WS dataflow, ``local_*`` all-reduce): use
    :func:`micro_batch_iteration` then."""
    chip = system.server.package.chip
    if chip.dataflow != "roofline" or system.allreduce_algo not in _LINEAR_ALLREDUCE:
        return None
    model = system.model
    b = model.bytes_per_number
    eff = system.compute_perf_efficiency

    def mt(op):
        bw = system.kv_bw_bytes_per_s if op.kv_bandwidth else system.w_bw_bytes_per_s
        return matmul_time(op, chip, eff, bw)

    ops = {op.name: op for op in operator_shapes(model, t, False, 1, 1, 0, fidelity)}
    w = [mt(ops[n]) for n in _WEIGHT_OPS]                     # R = 1 row: t_comp per row, t_load fixed
    dec = sum(mt(ops[n]).time_s for n in ("qk", "sv"))        # 1 stack × context 1: both ∝ D·c
    qk = mt(replace(ops["qk"], I=1, K=1))
    sv = mt(replace(ops["sv"], I=1, J=1))
    H = model.num_heads
    ar0 = allreduce_latency_s(system, p, t, 0.0)
    ar1 = allreduce_latency_s(system, p, t, model.d * b) - ar0
    a2a = allreduce_latency_s(system, p, t, model.d * b) / 2
    comm2_fixed = attention_comm2_s(model.resolved_attn_comm_pattern, a2a, ar0)
    comm2_row = attention_comm2_s(model.resolved_attn_comm_pattern, 0.0, ar1)
    if t > H:
        c0 = allreduce_latency_s(system, p, int(t / H), 0.0)
        c1 = allreduce_latency_s(system, p, int(t / H), b) - c0
    else:
        c0 = c1 = 0.0
    s0 = stage_transfer_s(system, p, 0.0)
    s1 = stage_transfer_s(system, p, model.d) - s0
    return IterationCost(
        p=p, layers_per_stage=math.ceil(model.num_layers / p),
        weight_comp_s_per_row=tuple(x.t_comp_s for x in w), weight_load_s=tuple(x.t_load_s for x in w),
        decode_attn_s_per_row_ctx=dec, chunk_attn_comp_s=(qk.t_comp_s, sv.t_comp_s),
        chunk_attn_load_s=(qk.t_load_s, sv.t_load_s), comm_fixed_s=comm2_fixed + ar0,
        comm_s_per_row=comm2_row + ar1, comm1_s_per_ctx=c1, comm1_fixed_s=c0, s2s_fixed_s=s0, s2s_s_per_row=s1)


def micro_batch_iteration(system: System, t: float, p: int, decode_rows: float, mean_context: float,
                          prefill_rows: float, prefill_context: float, fidelity: Fidelity) -> IterationTime:
    """§13.2–§13.6 for a micro-batch mixing decode rows (context ``mean_context``) and prefill-chunk rows
    (context ``prefill_context``). Mirrors :func:`llmhw.perf.latency.micro_batch_latency` with the rows split."""
    model = system.model
    chip = system.server.package.chip
    b = model.bytes_per_number
    eff = system.compute_perf_efficiency
    R = decode_rows + prefill_rows

    def time_of(op) -> float:
        bw = system.kv_bw_bytes_per_s if op.kv_bandwidth else system.w_bw_bytes_per_s
        return matmul_time(op, chip, eff, bw).time_s

    weights = 0.0
    if R > 0:   # §13.2 weight operators with R rows (decode shapes: rows = micro_batch)
        for op in operator_shapes(model, t, False, R, 0, 0, fidelity):
            if op.name in _WEIGHT_OPS:
                weights += time_of(op)
    attention = 0.0
    if decode_rows > 0:   # decode: D stacks of (1 × d_at/t) · (d_at/t × c), c = mean_context
        for op in operator_shapes(model, t, False, decode_rows, mean_context, 0, fidelity):
            if op.name in ("qk", "sv"):
                attention += time_of(op)
    if prefill_rows > 0:  # chunk: (C × d_at/t) · (d_at/t × c_chunk) and (C × c_chunk) · (c_chunk × d_at/t)
        for op in operator_shapes(model, t, False, 1, 0, 0, fidelity):
            if op.name == "qk":
                attention += time_of(replace(op, I=prefill_rows, K=prefill_context))
            elif op.name == "sv":
                attention += time_of(replace(op, I=prefill_rows, J=prefill_context))
    # §13.4 communication per layer with R rows
    H = model.num_heads
    c = mean_context if decode_rows > 0 else prefill_context
    comm1 = allreduce_latency_s(system, p, int(t / H), c * b) if t > H else 0.0
    a2a = allreduce_latency_s(system, p, t, model.d * b) / 2
    ar = allreduce_latency_s(system, p, t, R * model.d * b)
    layer_comm = comm1 + attention_comm2_s(model.resolved_attn_comm_pattern, a2a, ar) + ar
    s2s = stage_transfer_s(system, p, R * model.d)
    lps = math.ceil(model.num_layers / p)
    stage = (weights + attention + layer_comm) * lps + s2s
    return IterationTime(total_s=stage * p, stage_s=stage, weights_s=weights * lps * p,
                         attention_s=attention * lps * p, communication_s=(layer_comm * lps + s2s) * p)


@dataclass(frozen=True)
class ExactIterationCost:
    """The same interface as :class:`IterationCost`, one :func:`micro_batch_iteration` per element (for the
    WS dataflow and the ``local_*`` all-reduces, whose times are not linear in the rows)."""

    system: System
    t: float
    p: int
    fidelity: Fidelity

    def time_s(self, decode_tokens, mean_context, prefill_tokens=0.0, prefill_context=0.0):
        p = self.p

        def one(d, c, n, cc):
            return micro_batch_iteration(self.system, self.t, p, d / p, c, n / p, cc, self.fidelity).total_s
        out = np.vectorize(one, otypes=[float])(decode_tokens, mean_context, prefill_tokens, prefill_context)
        return out if out.ndim else float(out)

    def prompt_occupancy_s(self, prompt_tokens):
        return self.time_s(0.0, 0.0, prompt_tokens, prompt_tokens)


def cost_model(system: System, t: float, p: int, fidelity: Fidelity) -> IterationCost | ExactIterationCost:
    """The fast coefficient form when it is exact, else the per-element form."""
    return iteration_cost(system, t, p, fidelity) or ExactIterationCost(system, t, p, fidelity)
